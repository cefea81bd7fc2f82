//! Tenant identity health checks (System Settings → Subscriptions → Perform Tenant
//! Identity Health Checks): each tenant's Microsoft Entra tenant (`entraTenantId`, the
//! directory its users and the stamp's subscriptions belong to) must still exist. The
//! check asks the identity authority for the tenant's OpenID configuration, which
//! answers 200 for a directory that exists and 400 (`AADSTS90002`) or 404 for one that
//! does not. A missing directory raises `tenant.identity` for the tenant until a check
//! finds it again; an authority that cannot be reached decides nothing (the tenant's
//! alert stays as it was) and is counted.

use std::time::Duration;

use serde_json::Value;
use stackbill_store::NewAlert;

use super::Done;
use crate::api::AppState;
use crate::api::wire::{ApiError, ApiResult};

/// Where directories are looked up unless System Settings → Subscriptions →
/// `tenantIdentityAuthority` says otherwise.
pub(crate) const AUTHORITY: &str = "https://login.microsoftonline.com";

/// What one check found.
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdentityCheck {
    /// Tenants with an Entra tenant checked.
    checked: u64,
    /// Of them, whose directory the authority does not know (each an open alert).
    missing: u64,
    /// Of them, not decided: the authority could not be reached or answered otherwise.
    unknown: u64,
    /// Alerts cleared because the directory was found.
    cleared: u64,
}

/// What the authority said of one directory.
enum Verdict {
    Found,
    Missing(String),
    Unknown(String),
}

async fn look_up(client: &reqwest::Client, authority: &str, directory: &str) -> Verdict {
    let mut url = match reqwest::Url::parse(authority) {
        Ok(u) => u,
        Err(e) => return Verdict::Unknown(format!("authority {authority:?}: {e}")),
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty()
            .extend([directory, "v2.0", ".well-known", "openid-configuration"]);
    }
    match client.get(url).send().await {
        Ok(r) if r.status().is_success() => Verdict::Found,
        Ok(r) if matches!(r.status().as_u16(), 400 | 404) => {
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            let why = body["error_description"]
                .as_str()
                .and_then(|d| d.lines().next())
                .unwrap_or("");
            Verdict::Missing(
                format!("HTTP {status}: {why}")
                    .trim_end_matches(": ")
                    .to_owned(),
            )
        }
        Ok(r) => Verdict::Unknown(format!("HTTP {}", r.status())),
        Err(e) => Verdict::Unknown(e.to_string()),
    }
}

/// Checks every open tenant's Entra tenant against the authority in the settings.
pub(crate) async fn check(state: &AppState) -> ApiResult<IdentityCheck> {
    let settings = state.snapshot().await?.settings.clone();
    let authority = settings["subscriptions"]["tenantIdentityAuthority"]
        .as_str()
        .unwrap_or(AUTHORITY)
        .to_owned();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ApiError::internal(format!("identity check client: {e}")))?;
    let mut report = IdentityCheck::default();
    let at = crate::api::now_rfc3339();
    for tenant in state.store().tenants().await? {
        let key = format!("tenant.identity:{}", tenant.id.to_ascii_lowercase());
        let directory = tenant.details["entraTenantId"]
            .as_str()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        let (Some(directory), None) = (directory, &tenant.closed_on) else {
            // Nothing to check any more: a condition that was raised no longer applies.
            if state.store().clear_alert(&key, &at).await? {
                report.cleared = report.cleared.saturating_add(1);
            }
            continue;
        };
        report.checked = report.checked.saturating_add(1);
        match look_up(&client, &authority, directory).await {
            Verdict::Found => {
                if state.store().clear_alert(&key, &at).await? {
                    report.cleared = report.cleared.saturating_add(1);
                }
            }
            Verdict::Missing(why) => {
                report.missing = report.missing.saturating_add(1);
                let alert = NewAlert {
                    key,
                    kind: "tenant.identity".into(),
                    subject: tenant.id.clone(),
                    severity: "error".into(),
                    message: format!(
                        "tenant {}: its Entra tenant {directory:?} is not found at {authority} ({why}); \
                         its users cannot sign in with it",
                        tenant.id
                    ),
                };
                state.store().raise_alert(&alert, &at).await?;
            }
            Verdict::Unknown(why) => {
                report.unknown = report.unknown.saturating_add(1);
                tracing::warn!(tenant = %tenant.id, error = %why, "identity check undecided");
            }
        }
    }
    Ok(report)
}

/// The `tenants.identity` job.
pub(crate) async fn run(state: &AppState, job: i64) -> ApiResult<Done> {
    let report = check(state).await?;
    let message = format!(
        "{} tenant(s) checked: {} missing, {} undecided, {} cleared",
        report.checked, report.missing, report.unknown, report.cleared
    );
    Done::of(job, message, &report)
}
