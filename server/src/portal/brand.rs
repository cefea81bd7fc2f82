//! Whose brand a signed-in person sees. The platform's (System Settings → Branding) by
//! default; a distributor or partner that set its own `details.branding` is seen by the
//! people under it — the partner's field where it set one, else its distributor's, else
//! the platform's, as on its tenants' invoices. Only when every role the person holds
//! lies under that one node: someone who also works for the platform or another branch
//! sees the platform's brand.

use serde_json::Value;

use crate::api::access::Caller;

/// A node's brand fields the portal uses; `None` keeps the platform's.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Brand {
    pub product: Option<String>,
    pub logo: Option<String>,
    /// The portal's primary colour: the brand's invoice header colour.
    pub primary: Option<String>,
}

/// The brand of the one distributor and partner (if any) every role of `caller` lies under.
pub(crate) fn of(caller: &Caller) -> Brand {
    let nodes: Vec<_> = caller.principal.scopes.iter().map(|s| s.node()).collect();
    let Some(first) = nodes.first() else {
        return Brand::default();
    };
    let common = |pick: &dyn Fn(&stackbill_core::rbac::NodePath) -> Option<String>| {
        let first = pick(first)?;
        nodes
            .iter()
            .all(|n| pick(n).as_deref() == Some(first.as_str()))
            .then_some(first)
    };
    let Some(distributor) = common(&|n| n.distributor.as_ref().map(|d| d.as_str().to_owned()))
    else {
        return Brand::default();
    };
    let partner = common(&|n| n.partner.as_ref().map(|p| p.as_str().to_owned()));
    let dir = caller.directory.as_ref();
    let layers: Vec<&Value> = [
        partner
            .as_deref()
            .and_then(|p| dir.partner(p))
            .map(|p| &p.details["branding"]),
        dir.distributor(&distributor)
            .map(|d| &d.details["branding"]),
    ]
    .into_iter()
    .flatten()
    .collect();
    let field = |key: &str| layers.iter().find_map(|b| crate::branding::text(b, key));
    Brand {
        product: field("name"),
        logo: field("logo"),
        primary: field("headerBackgroundColour"),
    }
}
