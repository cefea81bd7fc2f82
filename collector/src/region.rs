//! What the collector needs to know about a region, read from its stored record.
//!
//! The region's row holds the admin Resource Manager endpoint and a credential
//! reference; its `details` hold the rest: `providerSubscriptionId` (the subscription the
//! usage API is called under, normally the Default Provider Subscription), `identity`
//! (`entra` or `adfs`), `directoryTenant` (Entra only: the stamp's home directory),
//! `clientId`, and optionally `caBundle` (a PEM file of the stamp's root CA) and
//! `systemSubscriptionIds` (the stamp's own subscriptions besides the provider's).

use reqwest::Url;
use stackbill_store::RegionRow;

use crate::CollectError;

/// How a stamp authenticates its callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Microsoft Entra ID: tokens from `{loginEndpoint}{tenant}/oauth2/token`.
    Entra {
        /// The stamp's home directory (a domain or GUID).
        tenant: String,
    },
    /// AD FS (disconnected stamps): tokens from `{loginEndpoint}oauth2/token`, where the
    /// login endpoint ends in `/adfs/`.
    Adfs,
}

/// One region's collection settings.
#[derive(Debug, Clone)]
pub struct RegionConfig {
    /// The region's id in StackBill.
    pub id: String,
    /// The admin Resource Manager endpoint, ending in `/`.
    pub arm: Url,
    /// The provider subscription the usage API is called under.
    pub provider_subscription: String,
    /// The stamp's other system subscriptions (metering, consumption, infrastructure):
    /// their usage is the operator's own, kept apart from tenants like the provider's.
    pub system_subscriptions: Vec<String>,
    /// How to authenticate.
    pub identity: Identity,
    /// The service principal's application id.
    pub client_id: String,
    /// Where the client secret lives (`env:NAME`, `file:PATH`).
    pub credential_ref: String,
    /// A PEM bundle of the stamp's CA, added to the system roots.
    pub ca_bundle: Option<String>,
}

fn config(field: &'static str, message: impl Into<String>) -> CollectError {
    CollectError::Config {
        field,
        message: message.into(),
    }
}

/// Checks that `url` may carry a bearer token: https, or plain http only to a loopback
/// address (a test stamp or a local relay).
pub(crate) fn check_transport(url: &Url, field: &'static str) -> Result<(), CollectError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(config(
            field,
            format!("{url} must be https (plain http only to a loopback address)"),
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Reads an admin endpoint as the collector will call it: a URL that is https, or
/// plain http to a loopback address.
pub fn check_endpoint(text: &str) -> Result<Url, CollectError> {
    let mut base = text.trim().to_owned();
    if !base.ends_with('/') {
        base.push('/');
    }
    let url = Url::parse(&base)
        .map_err(|e| config("adminEndpoint", format!("{base:?} is not a URL: {e}")))?;
    if url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() {
        return Err(config(
            "adminEndpoint",
            format!("{base:?} has no host, or has credentials"),
        ));
    }
    check_transport(&url, "adminEndpoint")?;
    Ok(url)
}

/// Whether two URLs share scheme, host and port: a `nextLink` is followed only to the
/// region's own origin, because the bearer token goes with it.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

impl RegionConfig {
    /// Reads a region's settings, naming the first field that is missing or wrong.
    pub fn from_row(row: &RegionRow) -> Result<Self, CollectError> {
        let text = |name: &'static str| -> Result<String, CollectError> {
            row.details
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| config(name, "is required for collection"))
        };
        let arm = check_endpoint(&row.admin_endpoint)?;
        let identity = match text("identity")?.to_ascii_lowercase().as_str() {
            "entra" | "azuread" | "aad" => Identity::Entra {
                tenant: text("directoryTenant")?,
            },
            "adfs" => Identity::Adfs,
            other => {
                return Err(config(
                    "identity",
                    format!("{other:?} is not entra or adfs"),
                ));
            }
        };
        let provider_subscription = text("providerSubscriptionId")?;
        if provider_subscription.contains(['/', '?', '#']) {
            return Err(config(
                "providerSubscriptionId",
                "must be a subscription id",
            ));
        }
        let credential_ref = row
            .credential_ref
            .clone()
            .ok_or_else(|| config("credentialRef", "is required for collection"))?;
        crate::secret::check_reference(&credential_ref)?;
        Ok(RegionConfig {
            id: row.id.clone(),
            arm,
            provider_subscription,
            system_subscriptions: row
                .details
                .get("systemSubscriptionIds")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str())
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            identity,
            client_id: text("clientId")?,
            credential_ref,
            ca_bundle: text("caBundle").ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(endpoint: &str, details: serde_json::Value) -> RegionRow {
        RegionRow {
            id: "fra01".into(),
            name: "Frankfurt".into(),
            time_zone: "UTC".into(),
            admin_endpoint: endpoint.into(),
            collection_window_hours: 24,
            credential_ref: Some("env:FRA01_SECRET".into()),
            details,
        }
    }

    #[test]
    fn settings_are_read_and_checked() {
        let ok =
            serde_json::json!({"identity": "adfs", "providerSubscriptionId": "p", "clientId": "c"});
        let c = RegionConfig::from_row(&row("https://adminmanagement.fra01.example", ok.clone()))
            .expect("valid");
        assert_eq!(c.arm.as_str(), "https://adminmanagement.fra01.example/");
        assert_eq!(c.identity, Identity::Adfs);
        assert!(RegionConfig::from_row(&row("http://127.0.0.1:9/", ok.clone())).is_ok());
        for bad in [
            "http://adminmanagement.fra01.example",
            "ftp://127.0.0.1/",
            "nonsense",
        ] {
            let e = RegionConfig::from_row(&row(bad, ok.clone())).expect_err(bad);
            assert!(
                matches!(
                    e,
                    CollectError::Config {
                        field: "adminEndpoint",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        let e = RegionConfig::from_row(&row(
            "https://a.example",
            serde_json::json!({"identity": "entra", "providerSubscriptionId": "p", "clientId": "c"}),
        ))
        .expect_err("no tenant");
        assert!(matches!(
            e,
            CollectError::Config {
                field: "directoryTenant",
                ..
            }
        ));
    }

    #[test]
    fn origins() {
        let a = Url::parse("https://h.example/x").expect("url");
        assert!(same_origin(
            &a,
            &Url::parse("https://H.example:443/y?z").expect("url")
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://evil.example/x").expect("url")
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("http://h.example/x").expect("url")
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://h.example:8443/x").expect("url")
        ));
    }
}
