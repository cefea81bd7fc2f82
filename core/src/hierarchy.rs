//! The commercial hierarchy: platform → distributor → partner → tenant → subscription.
//!
//! Ids are newtypes so that a tenant id can never be passed where a partner id is meant.
//! The [`Hierarchy`] is validated once (unique ids, every parent exists) and then answers
//! parent look-ups by index, which the rating loop relies on.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::commission::CommissionPlan;
use crate::money::{Currency, RoundingMode};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps an id as given; ids are compared exactly.
            pub fn new(id: impl AsRef<str>) -> Self {
                Self(Arc::from(id.as_ref()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::new(s)
            }
        }
    };
}

id_type!(
    /// A distributor's id.
    DistributorId
);
id_type!(
    /// A partner's id.
    PartnerId
);
id_type!(
    /// A tenant's id.
    TenantId
);
id_type!(
    /// A subscription's id (in Azure Stack, the subscription GUID).
    SubscriptionId
);
id_type!(
    /// A region's (Azure Stack stamp's) id.
    RegionId
);
id_type!(
    /// A price list's id.
    PriceListId
);

/// Platform-wide billing defaults (System Settings → Billing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Default currency for distributors, partners and tenants that set none.
    pub currency: Currency,
    /// Default time zone for tenants that set none.
    pub time_zone: Tz,
    /// Divide `per: month` prices by the real hours of the month instead of 730.
    pub monthly_variable_pricing: bool,
    /// How exact halves round.
    pub rounding: RoundingMode,
}

/// The top commercial tier beneath the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distributor {
    /// Its id.
    pub id: DistributorId,
    /// Currency its commission is paid in; the platform's when absent.
    pub currency: Option<Currency>,
    /// Its own commission plan.
    pub commission: Option<CommissionPlan>,
    /// The plan its partners inherit when they have none of their own.
    pub partner_commission: Option<CommissionPlan>,
}

/// A customer-facing organisation under a distributor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// Its id.
    pub id: PartnerId,
    /// The distributor it belongs to.
    pub distributor: DistributorId,
    /// Commission currency; its distributor's when absent.
    pub currency: Option<Currency>,
    /// Its own commission plan, overriding the distributor's `partner_commission`.
    pub commission: Option<CommissionPlan>,
}

/// A consuming organisation: the party that is invoiced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// The partner it belongs to.
    pub partner: PartnerId,
    /// Invoice currency; the platform's when absent.
    pub currency: Option<Currency>,
    /// Time zone its periods are cut in; the platform's when absent.
    pub time_zone: Option<Tz>,
    /// Tax added to its invoices, in percent.
    pub tax_percent: Decimal,
}

/// The unit of consumption inside a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// The tenant that owns it.
    pub tenant: TenantId,
    /// The region its usage comes from (and whose price lists apply last).
    pub region: RegionId,
    /// The first day it is no longer billed (a cancelled or closed subscription): usage
    /// starting at or after local midnight of that day, in its tenant's zone, is reported
    /// unbilled as `inactive_subscription`. `None` while it is billed.
    pub ends_on: Option<chrono::NaiveDate>,
}

/// The validated hierarchy with index look-ups.
///
/// Construction goes through [`crate::scenario::Scenario::new`], which reports every
/// duplicate id and dangling reference; a `Hierarchy` therefore always has all parents.
#[derive(Debug, Clone, Default)]
pub struct Hierarchy {
    pub(crate) distributors: Vec<Distributor>,
    pub(crate) partners: Vec<Partner>,
    pub(crate) tenants: Vec<Tenant>,
    pub(crate) subscriptions: Vec<Subscription>,
    pub(crate) distributor_index: HashMap<DistributorId, usize>,
    pub(crate) partner_index: HashMap<PartnerId, usize>,
    pub(crate) tenant_index: HashMap<TenantId, usize>,
    pub(crate) subscription_index: HashMap<SubscriptionId, usize>,
    /// For each partner, the index of its distributor.
    pub(crate) partner_parent: Vec<usize>,
    /// For each tenant, the index of its partner.
    pub(crate) tenant_parent: Vec<usize>,
    /// For each subscription, the index of its tenant.
    pub(crate) subscription_parent: Vec<usize>,
}

impl Hierarchy {
    /// Distributors in input order.
    pub fn distributors(&self) -> &[Distributor] {
        &self.distributors
    }
    /// Partners in input order.
    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }
    /// Tenants in input order.
    pub fn tenants(&self) -> &[Tenant] {
        &self.tenants
    }
    /// Subscriptions in input order.
    pub fn subscriptions(&self) -> &[Subscription] {
        &self.subscriptions
    }
    /// Index of a subscription by id.
    pub fn subscription_index(&self, id: &str) -> Option<usize> {
        self.subscription_index.get(id).copied()
    }
    /// Index of a distributor by id.
    pub fn distributor_index(&self, id: &str) -> Option<usize> {
        self.distributor_index.get(id).copied()
    }
    /// Index of a partner by id.
    pub fn partner_index(&self, id: &str) -> Option<usize> {
        self.partner_index.get(id).copied()
    }
    /// Index of a tenant by id.
    pub fn tenant_index(&self, id: &str) -> Option<usize> {
        self.tenant_index.get(id).copied()
    }
    /// Index of the tenant owning subscription `sub`.
    pub fn tenant_of(&self, sub: usize) -> usize {
        self.subscription_parent[sub]
    }
    /// Index of the partner owning tenant `tenant`.
    pub fn partner_of(&self, tenant: usize) -> usize {
        self.tenant_parent[tenant]
    }
    /// Index of the distributor owning partner `partner`.
    pub fn distributor_of(&self, partner: usize) -> usize {
        self.partner_parent[partner]
    }
}
