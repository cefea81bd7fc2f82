//! The object kinds that have a page ([`super::objects`]), as data: each kind's API, the
//! fields a person edits, what is kept unchanged, and the manual's actions on it with the
//! permission each needs.

use stackbill_core::rbac::Action;

use super::fields::{FieldSpec, Kind, TEXT, f};
use super::forms::{METER, PLAN, PRICING, REGION, SUBSCRIPTION, TENANT};

/// An object kind's page.
pub(crate) struct ObjectSpec {
    /// Its segment in `/objects/{key}/{id}`.
    pub key: &'static str,
    pub noun: &'static str,
    pub api: &'static str,
    /// The screen it belongs to: the navigation's current entry and the way back.
    pub home: &'static str,
    pub fields: &'static [FieldSpec],
    /// Fields shown but not edited (its id, its place in the hierarchy).
    pub fixed: &'static [&'static str],
    /// Parts of the object no field edits, sent back unchanged when it is saved.
    pub keep: &'static [&'static str],
    pub edit: Option<Action>,
    pub delete: Option<Action>,
    pub actions: &'static [ActionSpec],
}

/// Something done to an object other than saving it.
pub(crate) struct ActionSpec {
    pub key: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub method: &'static str,
    /// The API path, `{id}` standing for the object's id.
    pub path: &'static str,
    pub needs: Action,
    pub fields: &'static [FieldSpec],
    /// Where the fields' current values are read from, if anywhere.
    pub load: Option<&'static str>,
}

const NO_FIELDS: &[FieldSpec] = &[];

/// A distributor's or partner's own branding (`details.branding`), on its page: what
/// the people under it see in the portal and on their invoices instead of the one above.
const BRAND_NAME: FieldSpec = f(
    "details.branding.name",
    "Brand name",
    TEXT,
    false,
    Some(
        "Shown instead of the product name to the people under it, and on their invoices; empty for the one above.",
    ),
);
const BRAND_COLOUR: FieldSpec = f(
    "details.branding.headerBackgroundColour",
    "Brand colour",
    TEXT,
    false,
    Some("#RRGGBB: the portal's header and the invoice header; empty for the one above."),
);
const BRAND_SUPPORT: FieldSpec = f(
    "details.branding.supportEmail",
    "Support e-mail",
    TEXT,
    false,
    None,
);
const BRAND_PAYMENT: FieldSpec = f(
    "details.branding.paymentDetails",
    "Payment details on invoices",
    TEXT,
    false,
    None,
);
const COMMISSION_HINT: Option<&str> = Some(
    "graduated or volume on the first line, then one band per line as from-to: percent, the last open, e.g. 0-: 5.",
);
const PARTNER_RATES: &[FieldSpec] = &[f(
    "commission",
    "Commission rates",
    Kind::Bands("percent"),
    false,
    COMMISSION_HINT,
)];
const DISTRIBUTOR_RATES: &[FieldSpec] = &[
    f(
        "commission",
        "Distributor commission",
        Kind::Bands("percent"),
        false,
        COMMISSION_HINT,
    ),
    f(
        "partnerCommission",
        "Default commission of its partners",
        Kind::Bands("percent"),
        false,
        COMMISSION_HINT,
    ),
];
const DAY_HINT: Option<&str> = Some("YYYY-MM-DD.");
/// The reported hours an Update Usage collects.
const REPORTED_HOURS: &[FieldSpec] = &[
    f(
        "from",
        "From",
        TEXT,
        false,
        Some(
            "An RFC 3339 whole hour, or a day for its midnight UTC; 48 hours before To when left empty.",
        ),
    ),
    f(
        "to",
        "To (exclusive)",
        TEXT,
        false,
        Some("As From; the last whole reported hour when left empty."),
    ),
];
const INCREASE_KINDS: &[(&str, &str)] = &[
    ("percentage", "Percentage"),
    ("fixed", "Fixed amount per unit"),
];

pub(crate) const OBJECTS: &[ObjectSpec] = &[
    ObjectSpec {
        key: "distributors",
        noun: "distributor",
        api: "/api/v1/distributors",
        home: "/lists/distributors",
        fields: super::forms::distributor_fields!(
            BRAND_NAME,
            BRAND_COLOUR,
            BRAND_SUPPORT,
            BRAND_PAYMENT
        ),
        fixed: &["id"],
        keep: &["details"],
        edit: Some(Action::Update),
        delete: Some(Action::Delete),
        actions: &[ActionSpec {
            key: "rates",
            label: "Save commission rates",
            hint: "What the distributor earns on its branch's invoiced revenue, and what its partners earn unless they have their own rates.",
            method: "PUT",
            path: "/api/v1/commissions/rates/distributors/{id}",
            needs: Action::ManageCommissionRates,
            fields: DISTRIBUTOR_RATES,
            load: Some("/api/v1/commissions/rates/distributors/{id}"),
        }],
    },
    ObjectSpec {
        key: "partners",
        noun: "partner",
        api: "/api/v1/partners",
        home: "/lists/partners",
        fields: super::forms::partner_fields!(
            BRAND_NAME,
            BRAND_COLOUR,
            BRAND_SUPPORT,
            BRAND_PAYMENT
        ),
        fixed: &["id", "distributorId"],
        keep: &["details"],
        edit: Some(Action::Update),
        delete: Some(Action::Delete),
        actions: &[ActionSpec {
            key: "rates",
            label: "Save commission rates",
            hint: "What the partner earns on its tenants' invoiced revenue; empty to use its distributor's default.",
            method: "PUT",
            path: "/api/v1/commissions/rates/partners/{id}",
            needs: Action::ManageCommissionRates,
            fields: PARTNER_RATES,
            load: Some("/api/v1/commissions/rates/partners/{id}"),
        }],
    },
    ObjectSpec {
        key: "tenants",
        noun: "tenant",
        api: "/api/v1/tenants",
        home: "/tenants",
        fields: TENANT,
        fixed: &["id", "partnerId"],
        keep: &["details", "entraTenantId", "initialOwner"],
        edit: Some(Action::Update),
        delete: Some(Action::Delete),
        actions: &[
            ActionSpec {
                key: "close",
                label: "Close tenant",
                hint: "Offboarding: the tenant keeps its usage and invoices, is not billed from this day on, and its subscriptions are cancelled from the same day.",
                method: "POST",
                path: "/api/v1/tenants/{id}/close",
                needs: Action::Update,
                fields: &[f(
                    "closedOn",
                    "First day not billed",
                    Kind::Date,
                    false,
                    Some("Today when left empty."),
                )],
                load: None,
            },
            ActionSpec {
                key: "reopen",
                label: "Reopen tenant",
                hint: "Bills a closed tenant again; its subscriptions stay as they are.",
                method: "POST",
                path: "/api/v1/tenants/{id}/reopen",
                needs: Action::Update,
                fields: NO_FIELDS,
                load: None,
            },
        ],
    },
    ObjectSpec {
        key: "subscriptions",
        noun: "subscription",
        api: "/api/v1/subscriptions",
        home: "/lists/subscriptions",
        fields: SUBSCRIPTION,
        fixed: &["id", "tenantId", "regionId"],
        keep: &["planId"],
        edit: Some(Action::Update),
        delete: Some(Action::Delete),
        actions: &[ActionSpec {
            key: "collect",
            label: "Update Usage",
            hint: "Collects this subscription's usage from its region for the reported hours from the first to the second; what was stored already stays once.",
            method: "POST",
            path: "/api/v1/subscriptions/{id}/collect",
            needs: Action::ProcessUsage,
            fields: REPORTED_HOURS,
            load: None,
        }],
    },
    ObjectSpec {
        key: "regions",
        noun: "region",
        api: "/api/v1/regions",
        home: "/lists/regions",
        fields: REGION,
        fixed: &["id"],
        keep: &["collection"],
        edit: Some(Action::ManageRegions),
        delete: Some(Action::ManageRegions),
        actions: &[
            ActionSpec {
                key: "test",
                label: "Test",
                hint: "Asks the region's identity for a token and calls its usage provider once, reading no usage.",
                method: "POST",
                path: "/api/v1/regions/{id}/test",
                needs: Action::ManageRegions,
                fields: NO_FIELDS,
                load: None,
            },
            ActionSpec {
                key: "collect",
                label: "Update Usage",
                hint: "Collects the region's usage for the reported hours from the first to the second, replacing what was stored for them.",
                method: "POST",
                path: "/api/v1/regions/{id}/collect",
                needs: Action::ProcessUsage,
                fields: REPORTED_HOURS,
                load: None,
            },
            ActionSpec {
                key: "health",
                label: "Show health",
                hint: "Its subscriptions, credential, and the last and next collection.",
                method: "GET",
                path: "/api/v1/regions/{id}/health",
                needs: Action::ReadRegions,
                fields: NO_FIELDS,
                load: None,
            },
        ],
    },
    ObjectSpec {
        key: "meters",
        noun: "meter",
        api: "/api/v1/meters",
        home: "/lists/meters",
        fields: METER,
        fixed: &["id"],
        keep: &[],
        edit: Some(Action::ManagePlans),
        delete: None,
        actions: &[],
    },
    ObjectSpec {
        key: "plans",
        noun: "plan",
        api: "/api/v1/plans",
        home: "/lists/plans",
        fields: PLAN,
        fixed: &["id"],
        keep: &[],
        edit: Some(Action::ManagePlans),
        delete: None,
        actions: &[],
    },
    ObjectSpec {
        key: "pricing",
        noun: "price list",
        api: "/api/v1/pricing",
        home: "/lists/pricing",
        fields: PRICING,
        fixed: &["id", "scope"],
        keep: &[],
        edit: Some(Action::ManagePricing),
        delete: Some(Action::ManagePricing),
        actions: &[
            ActionSpec {
                key: "clone",
                label: "Clone",
                hint: "A copy with its own id, for another scope or from another day.",
                method: "POST",
                path: "/api/v1/pricing/{id}/clone",
                needs: Action::ManagePricing,
                fields: &[
                    f(
                        "id",
                        "Id of the copy",
                        TEXT,
                        false,
                        Some("Generated when left empty."),
                    ),
                    f(
                        "name",
                        "Name",
                        TEXT,
                        false,
                        Some("The source's when left empty."),
                    ),
                    f(
                        "scope",
                        "Scope",
                        Kind::Scope,
                        false,
                        Some(
                            "region:ID, tenant:ID or subscription:ID; the source's when left empty.",
                        ),
                    ),
                    f(
                        "effectiveFrom",
                        "In force from",
                        Kind::Date,
                        false,
                        DAY_HINT,
                    ),
                    f(
                        "effectiveTo",
                        "In force until (exclusive)",
                        Kind::Date,
                        false,
                        DAY_HINT,
                    ),
                ],
                load: None,
            },
            ActionSpec {
                key: "increase",
                label: "Model a price increase",
                hint: "Shows every rate before and after and each tenant's invoice total for the month on its stored usage; with a first day it also publishes the new rates as a new list.",
                method: "POST",
                path: "/api/v1/pricing/{id}/increase",
                needs: Action::ManagePricing,
                fields: &[
                    f("kind", "Kind", Kind::Choice(INCREASE_KINDS), true, None),
                    f(
                        "amount",
                        "Amount",
                        TEXT,
                        true,
                        Some("Percent, or an amount in the list's currency, e.g. 5 or 0.01."),
                    ),
                    f(
                        "period",
                        "Month shown",
                        TEXT,
                        false,
                        Some("YYYY-MM; this month when left empty."),
                    ),
                    f(
                        "effectiveFrom",
                        "Publish from",
                        Kind::Date,
                        false,
                        Some(
                            "Leave empty to only model it; a day publishes a new list in force from then.",
                        ),
                    ),
                    f(
                        "newId",
                        "Id of the new list",
                        TEXT,
                        false,
                        Some("Generated when left empty."),
                    ),
                ],
                load: None,
            },
        ],
    },
    ObjectSpec {
        key: "jobs",
        noun: "job",
        api: "/api/v1/jobs",
        home: "/lists/jobs",
        fields: NO_FIELDS,
        fixed: &[],
        keep: &[],
        edit: None,
        delete: None,
        actions: &[ActionSpec {
            key: "cancel",
            label: "Cancel job",
            hint: "A queued job does not start; a running one stops at its next step and keeps what it finished.",
            method: "POST",
            path: "/api/v1/jobs/{id}/cancel",
            needs: Action::ReadJobs,
            fields: NO_FIELDS,
            load: None,
        }],
    },
];
