//! Platform health checks run on the schedules' beat, each raising its alert once while
//! its condition holds and clearing it when it ends.

use stackbill_store::NewAlert;

use crate::api::AppState;
use crate::api::wire::ApiResult;

/// Minutes over which failed sign-ins are counted.
const WINDOW_MINUTES: i64 = 5;

/// `auth.failure_spike`: more failed sign-ins across the platform in the last five
/// minutes than System Settings → Platforms → `authFailureAlertThreshold` (50 by
/// default): someone may be guessing passwords.
pub(crate) async fn sign_in_failures(state: &AppState, now: i64) -> ApiResult<()> {
    let threshold = state.snapshot().await?.settings["platforms"]["authFailureAlertThreshold"]
        .as_i64()
        .unwrap_or(50);
    let since = now
        .div_euclid(60)
        .saturating_sub(WINDOW_MINUTES.saturating_sub(1));
    let failures = state.store().sign_in_failures_since(since).await?;
    let key = "auth.failure_spike:platform";
    let at = crate::api::now_rfc3339();
    if failures > threshold {
        let alert = NewAlert {
            key: key.into(),
            kind: "auth.failure_spike".into(),
            subject: "platform".into(),
            severity: "warning".into(),
            message: format!(
                "{failures} failed sign-ins in the last {WINDOW_MINUTES} minutes (threshold {threshold})"
            ),
        };
        state.store().raise_alert(&alert, &at).await?;
    } else {
        state.store().clear_alert(key, &at).await?;
    }
    Ok(())
}
