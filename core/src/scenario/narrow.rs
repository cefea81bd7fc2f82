//! Narrowing a scenario to some tenants: what a partner's, a distributor's or a single
//! tenant's run rates.
//!
//! A narrowed run must give those tenants exactly the invoices the full run gives them, and
//! must not depend on (or mention) anything outside them. So the narrowed input keeps the
//! chosen tenants with their subscriptions and ancestors, the region price lists (shared by
//! everyone) and only the tenant- and subscription-scoped lists of what it keeps. Another
//! tenant's bespoke list can then neither fail the run ("unknown tenant") nor leak its id.

use std::collections::HashSet;

use crate::hierarchy::{DistributorId, PartnerId, SubscriptionId, TenantId};
use crate::pricing::PriceScope;

use super::{Scenario, ScenarioInput};

impl ScenarioInput {
    /// The input for the tenants `keep` accepts: those tenants, their subscriptions, their
    /// partners and distributors, every region price list, their own tenant- and
    /// subscription-scoped lists, and every FX rate. Order is preserved.
    pub fn narrowed(&self, keep: impl Fn(&TenantId) -> bool) -> ScenarioInput {
        let tenants: Vec<_> = self
            .tenants
            .iter()
            .filter(|t| keep(&t.id))
            .cloned()
            .collect();
        let tenant_ids: HashSet<&TenantId> = tenants.iter().map(|t| &t.id).collect();
        let partner_ids: HashSet<&PartnerId> = tenants.iter().map(|t| &t.partner).collect();
        let partners: Vec<_> = self
            .partners
            .iter()
            .filter(|p| partner_ids.contains(&p.id))
            .cloned()
            .collect();
        let distributor_ids: HashSet<&DistributorId> =
            partners.iter().map(|p| &p.distributor).collect();
        let distributors = self
            .distributors
            .iter()
            .filter(|d| distributor_ids.contains(&d.id))
            .cloned()
            .collect();
        let subscriptions: Vec<_> = self
            .subscriptions
            .iter()
            .filter(|s| tenant_ids.contains(&s.tenant))
            .cloned()
            .collect();
        let subscription_ids: HashSet<&SubscriptionId> =
            subscriptions.iter().map(|s| &s.id).collect();
        let price_lists = self
            .price_lists
            .iter()
            .filter(|l| match &l.scope {
                PriceScope::Region(_) => true,
                PriceScope::Tenant(t) => tenant_ids.contains(t),
                PriceScope::Subscription(s) => subscription_ids.contains(s),
            })
            .cloned()
            .collect();
        ScenarioInput {
            period: self.period,
            platform: self.platform.clone(),
            distributors,
            partners,
            tenants,
            subscriptions,
            price_lists,
            fx_rates: self.fx_rates.clone(),
        }
    }
}

impl Scenario {
    /// The typed input this scenario was validated from (for narrowing an already
    /// validated scenario, or re-validating it with changes).
    pub fn to_input(&self) -> ScenarioInput {
        let h = &self.hierarchy;
        ScenarioInput {
            period: self.period,
            platform: self.platform.clone(),
            distributors: h.distributors.clone(),
            partners: h.partners.clone(),
            tenants: h.tenants.clone(),
            subscriptions: h.subscriptions.clone(),
            price_lists: self.book.lists().to_vec(),
            fx_rates: self.fx_rates.clone(),
        }
    }
}
