//! User subscriptions on the stamp (`Microsoft.Subscriptions.Admin`): created when
//! StackBill provisions a subscription, disabled when it is cancelled, deleted when it
//! is deleted, and listed to reconcile the two sides.

use std::collections::{BTreeSet, HashSet};

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

use crate::arm::{Arm, redact};
use crate::region::same_origin;
use crate::{CollectError, Stats};

const API: &str = "2015-11-01";

/// Whether an id is an Azure subscription GUID (only those can exist on a stamp).
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A user subscription as the stamp holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StampSubscription {
    /// The subscription GUID.
    pub subscription_id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The owner's sign-in name (UPN or e-mail).
    #[serde(default)]
    pub owner: Option<String>,
    /// The owner's directory tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// `/delegatedProviders/default/offers/NAME`.
    #[serde(default)]
    pub offer_id: Option<String>,
    /// `Enabled`, `Disabled`, `Deleted`, …
    #[serde(default)]
    pub state: Option<String>,
    /// A reference the creator keeps on it; StackBill writes `stackbill`, and changes or
    /// deletes only subscriptions that carry it.
    #[serde(default)]
    pub external_reference_id: Option<String>,
    /// Every other field the stamp returned (`delegatedProviderSubscriptionId`,
    /// `routingResourceManagerType`, …), sent back unchanged when the subscription is
    /// updated.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The reference StackBill leaves on the subscriptions it creates.
pub const STACKBILL_REFERENCE: &str = "stackbill";

impl StampSubscription {
    /// Whether StackBill created it (and so may disable or delete it).
    pub fn is_stackbills(&self) -> bool {
        self.external_reference_id.as_deref() == Some(STACKBILL_REFERENCE)
    }
}

/// The two sides of a region compared: subscriptions only the stamp has, and (GUID)
/// subscriptions only StackBill has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    /// On the stamp, unknown to StackBill.
    pub only_on_stamp: Vec<String>,
    /// In StackBill for this region, not on the stamp.
    pub only_in_stackbill: Vec<String>,
}

fn subscription_url(arm: &Arm, id: Option<&str>) -> Result<Url, CollectError> {
    let region = arm.region();
    let mut path = format!(
        "subscriptions/{}/providers/Microsoft.Subscriptions.Admin/subscriptions",
        region.provider_subscription
    );
    if let Some(id) = id {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(CollectError::Config {
                field: "subscriptionId",
                message: format!("{id:?} is not a subscription GUID"),
            });
        }
        path.push('/');
        path.push_str(id);
    }
    let mut url = region
        .arm
        .join(&path)
        .map_err(|e| CollectError::Protocol(e.to_string()))?;
    url.query_pairs_mut().append_pair("api-version", API);
    Ok(url)
}

/// Creates (or updates) a user subscription on the stamp.
pub async fn put_subscription(
    arm: &Arm,
    s: &StampSubscription,
    stats: &Stats,
) -> Result<(), CollectError> {
    let url = subscription_url(arm, Some(&s.subscription_id))?;
    let body = serde_json::to_vec(s).map_err(|e| CollectError::Protocol(e.to_string()))?;
    arm.write(Method::PUT, &url, Some(&body), stats)
        .await
        .map(|_| ())
}

/// Deletes a user subscription on the stamp; one the stamp does not have is no error.
pub async fn delete_subscription(arm: &Arm, id: &str, stats: &Stats) -> Result<(), CollectError> {
    let url = subscription_url(arm, Some(id))?;
    match arm.write(Method::DELETE, &url, None, stats).await {
        Ok(_) | Err(CollectError::Api { status: 404, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// One user subscription, if the stamp has it.
pub async fn get_subscription(
    arm: &Arm,
    id: &str,
    stats: &Stats,
) -> Result<Option<StampSubscription>, CollectError> {
    let url = subscription_url(arm, Some(id))?;
    match arm.get(&url, stats).await {
        Ok(body) => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| CollectError::Protocol(format!("subscription {id}: {e}"))),
        Err(CollectError::Api { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every user subscription on the stamp (following `nextLink` on the region's origin).
pub async fn list_subscriptions(
    arm: &Arm,
    stats: &Stats,
) -> Result<Vec<StampSubscription>, CollectError> {
    #[derive(Deserialize)]
    struct List {
        #[serde(default)]
        value: Vec<StampSubscription>,
        #[serde(rename = "nextLink")]
        next_link: Option<String>,
    }
    let mut url = subscription_url(arm, None)?;
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    loop {
        let body = arm.get(&url, stats).await?;
        let list: List = serde_json::from_slice(&body)
            .map_err(|e| CollectError::Protocol(format!("subscription list: {e}")))?;
        all.extend(list.value);
        let Some(link) = list.next_link.filter(|l| !l.is_empty()) else {
            return Ok(all);
        };
        let next = Url::parse(&link)
            .map_err(|e| CollectError::Protocol(format!("nextLink is not a URL: {e}")))?;
        if !same_origin(&next, &arm.region().arm) || !seen.insert(link.clone()) {
            return Err(CollectError::Protocol(format!(
                "subscription list nextLink {} leaves the region or repeats",
                redact(&next)
            )));
        }
        url = next;
    }
}

/// Compares the stamp's user subscriptions with StackBill's subscriptions of the region
/// (`known`: their ids; only GUIDs can be on a stamp). Deleted ones on the stamp count as
/// absent.
pub async fn reconcile(
    arm: &Arm,
    known: &[String],
    stats: &Stats,
) -> Result<Reconciliation, CollectError> {
    let stamp: BTreeSet<String> = list_subscriptions(arm, stats)
        .await?
        .into_iter()
        .filter(|s| {
            !s.state
                .as_deref()
                .is_some_and(|st| st.eq_ignore_ascii_case("Deleted"))
        })
        .map(|s| s.subscription_id.to_ascii_lowercase())
        .collect();
    let ours: BTreeSet<String> = known
        .iter()
        .filter(|id| is_guid(id))
        .map(|id| id.to_ascii_lowercase())
        .collect();
    Ok(Reconciliation {
        only_on_stamp: stamp.difference(&ours).cloned().collect(),
        only_in_stackbill: ours.difference(&stamp).cloned().collect(),
    })
}
