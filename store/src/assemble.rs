//! Stored rows into the engine's typed input: the one translation from what the database
//! holds to a [`ScenarioInput`], with no JSON document in between.
//!
//! Fragments the database keeps as contract JSON (price items, commission plans) are read
//! by the core's own exact reader. Every problem names the stored object (by id) and the
//! field. A problem belongs to the part of the hierarchy it could affect, so a run narrowed
//! to some tenants fails only on its own data, and never names anything outside it.

use std::collections::HashSet;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use stackbill_core::hierarchy::{
    Distributor, DistributorId, Partner, PartnerId, Platform, PriceListId, RegionId, Subscription,
    SubscriptionId, Tenant, TenantId,
};
use stackbill_core::money::{Currency, RoundingMode};
use stackbill_core::number::parse_decimal;
use stackbill_core::period::Period;
use stackbill_core::pricing::{PriceList, PriceScope};
use stackbill_core::scenario::json::{read_commission_plan, read_price_items};
use stackbill_core::{Decimal, InvalidScenario, Problem, Scenario, ScenarioInput};

use crate::{
    DistributorRow, FxRateRow, PartnerRow, PlatformRow, PriceListRow, Result, Store, StoreError,
    SubscriptionRow, TenantRow,
};

/// Which tenants a run rates.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Every tenant of the platform (writes every party's commission summary).
    All,
    /// Only these tenants (writes the summaries of the partners and distributors all of
    /// whose tenants are among them).
    Tenants(&'a [String]),
    /// A partner's branch: its tenants as stored when the run reads them; writes only
    /// the partner's summary (never its distributor's, which is above the branch).
    Partner(&'a str),
    /// A distributor's branch: its partners' tenants; writes its own and its partners'
    /// summaries.
    Distributor(&'a str),
}

/// Everything stored that a period's rating reads, as rows.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    /// Billing settings.
    pub(crate) platform: PlatformRow,
    /// Distributors.
    pub(crate) distributors: Vec<DistributorRow>,
    /// Partners.
    pub(crate) partners: Vec<PartnerRow>,
    /// Tenants.
    pub(crate) tenants: Vec<TenantRow>,
    /// Subscriptions.
    pub(crate) subscriptions: Vec<SubscriptionRow>,
    /// Price lists.
    pub(crate) price_lists: Vec<PriceListRow>,
    /// FX rates.
    pub(crate) fx_rates: Vec<FxRateRow>,
}

impl Rows {
    /// Reads them from `store`.
    pub(crate) async fn read(store: &dyn Store) -> Result<Rows> {
        let platform = store.platform().await?.ok_or_else(|| {
            StoreError::InvalidState(
                "the Billing settings (platform currency, time zone, rounding) are not set".into(),
            )
        })?;
        Ok(Rows {
            platform,
            distributors: store.distributors().await?,
            partners: store.partners().await?,
            tenants: store.tenants().await?,
            subscriptions: store.subscriptions().await?,
            price_lists: store.price_lists().await?,
            fx_rates: store.fx_rates().await?,
        })
    }

    /// The tenants `selection` names (`None`: all), each checked to exist; a branch's
    /// as stored now, in id order.
    pub(crate) fn tenant_ids(&self, selection: Selection<'_>) -> Result<Option<Vec<String>>> {
        let partner = |id: &str| {
            self.partners
                .iter()
                .find(|p| p.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| StoreError::NotFound {
                    kind: "partner",
                    id: id.to_owned(),
                })
        };
        let under = |partners: &[&str]| -> Vec<String> {
            self.tenants
                .iter()
                .filter(|t| partners.iter().any(|p| t.partner.eq_ignore_ascii_case(p)))
                .map(|t| t.id.clone())
                .collect()
        };
        match selection {
            Selection::All => Ok(None),
            Selection::Tenants(ids) => {
                let known: HashSet<&str> = self.tenants.iter().map(|t| t.id.as_str()).collect();
                for id in ids {
                    if !known.contains(id.as_str()) {
                        return Err(StoreError::NotFound {
                            kind: "tenant",
                            id: id.clone(),
                        });
                    }
                }
                Ok(Some(ids.to_vec()))
            }
            Selection::Partner(id) => Ok(Some(under(&[partner(id)?.id.as_str()]))),
            Selection::Distributor(id) => {
                let d = self
                    .distributors
                    .iter()
                    .find(|d| d.id.eq_ignore_ascii_case(id))
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "distributor",
                        id: id.to_owned(),
                    })?;
                let partners: Vec<&str> = self
                    .partners
                    .iter()
                    .filter(|p| p.distributor.eq_ignore_ascii_case(&d.id))
                    .map(|p| p.id.as_str())
                    .collect();
                Ok(Some(under(&partners)))
            }
        }
    }

    /// The validated scenario of `period` for `selection`: the typed input narrowed by
    /// the core's rule, failing only on problems of what the selection contains.
    pub(crate) fn scenario(&self, period: Period, selection: Selection<'_>) -> Result<Scenario> {
        let only: Option<HashSet<String>> = self
            .tenant_ids(selection)?
            .map(|ids| ids.into_iter().collect());
        let (input, problems) = self.input(period);
        let input = match &only {
            None => input,
            Some(set) => input.narrowed(|t| set.contains(t.as_str())),
        };
        let relevant = Relevance::of(&input);
        let problems: Vec<Problem> = problems
            .into_iter()
            .filter(|(owner, _)| relevant.contains(owner))
            .map(|(_, p)| p)
            .collect();
        if !problems.is_empty() {
            return Err(StoreError::Invalid(InvalidScenario { problems }));
        }
        Scenario::new(input).map_err(StoreError::Invalid)
    }

    /// The whole platform's input and every problem found converting it, each with the
    /// node it belongs to.
    fn input(&self, period: Period) -> (ScenarioInput, Vec<(Owner, Problem)>) {
        let mut c = Converter::default();
        let p = &self.platform;
        let platform = Platform {
            currency: c
                .currency(Owner::Global, "platform.currency", Some(&p.currency))
                .unwrap_or(Currency::USD),
            time_zone: c
                .time_zone(Owner::Global, "platform.time_zone", Some(&p.time_zone))
                .unwrap_or(chrono_tz::UTC),
            monthly_variable_pricing: p.monthly_variable_pricing,
            rounding: RoundingMode::from_name(&p.rounding).unwrap_or_else(|| {
                c.problem(
                    Owner::Global,
                    "platform.rounding",
                    "must be \"half_even\" or \"half_up\"",
                );
                RoundingMode::HalfEven
            }),
        };
        let distributors = self
            .distributors
            .iter()
            .map(|d| {
                let owner = Owner::Distributor(d.id.clone());
                let at = |f: &str| format!("distributors[{}].{f}", d.id);
                Distributor {
                    id: DistributorId::new(&d.id),
                    currency: c.currency(owner.clone(), &at("currency"), d.currency.as_deref()),
                    commission: c.plan(owner.clone(), &at("commission"), d.commission.as_ref()),
                    partner_commission: c.plan(
                        owner.clone(),
                        &at("partner_commission"),
                        d.partner_commission.as_ref(),
                    ),
                }
            })
            .collect();
        let partners = self
            .partners
            .iter()
            .map(|x| {
                let owner = Owner::Partner(x.id.clone());
                let at = |f: &str| format!("partners[{}].{f}", x.id);
                Partner {
                    id: PartnerId::new(&x.id),
                    distributor: DistributorId::new(&x.distributor),
                    currency: c.currency(owner.clone(), &at("currency"), x.currency.as_deref()),
                    commission: c.plan(owner, &at("commission"), x.commission.as_ref()),
                }
            })
            .collect();
        let tenants = self
            .tenants
            .iter()
            .map(|t| {
                let owner = Owner::Tenant(t.id.clone());
                let at = |f: &str| format!("tenants[{}].{f}", t.id);
                Tenant {
                    id: TenantId::new(&t.id),
                    partner: PartnerId::new(&t.partner),
                    currency: c.currency(owner.clone(), &at("currency"), t.currency.as_deref()),
                    time_zone: c.time_zone(owner.clone(), &at("time_zone"), t.time_zone.as_deref()),
                    tax_percent: c
                        .decimal(owner, &at("tax_percent"), t.tax_percent.as_deref())
                        .unwrap_or(Decimal::ZERO),
                }
            })
            .collect();
        // A closed tenant bills nothing from its closing day, whatever its subscriptions
        // say (one re-activated or created after the close included).
        let closed_on: std::collections::HashMap<String, &str> = self
            .tenants
            .iter()
            .filter_map(|t| Some((t.id.to_lowercase(), t.closed_on.as_deref()?)))
            .collect();
        let subscriptions = self
            .subscriptions
            .iter()
            .map(|s| {
                let owner = Owner::Tenant(s.tenant.clone());
                let own = c.date(
                    owner.clone(),
                    &format!("subscriptions[{}].ends_on", s.id),
                    s.ends_on.as_deref(),
                );
                let closed = closed_on.get(&s.tenant.to_lowercase()).and_then(|day| {
                    c.date(
                        owner,
                        &format!("tenants[{}].closed_on", s.tenant),
                        Some(day),
                    )
                });
                Subscription {
                    id: SubscriptionId::new(&s.id),
                    tenant: TenantId::new(&s.tenant),
                    region: RegionId::new(&s.region),
                    ends_on: match (own, closed) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    },
                }
            })
            .collect();
        let price_lists = self
            .price_lists
            .iter()
            .map(|l| c.price_list(self, l))
            .collect();
        let fx_rates = self
            .fx_rates
            .iter()
            .enumerate()
            .filter_map(|(i, r)| c.fx(i, r))
            .collect();
        let input = ScenarioInput {
            period,
            platform,
            distributors,
            partners,
            tenants,
            subscriptions,
            price_lists,
            fx_rates,
        };
        (input, c.problems)
    }
}

/// The part of the hierarchy a stored value belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    /// Platform settings, region price lists, FX rates: every run reads them.
    Global,
    Distributor(String),
    Partner(String),
    Tenant(String),
}

/// The owners a narrowed input contains.
struct Relevance {
    owners: HashSet<Owner>,
}

impl Relevance {
    fn of(input: &ScenarioInput) -> Relevance {
        let mut owners = HashSet::from([Owner::Global]);
        owners.extend(
            input
                .distributors
                .iter()
                .map(|d| Owner::Distributor(d.id.to_string())),
        );
        owners.extend(
            input
                .partners
                .iter()
                .map(|p| Owner::Partner(p.id.to_string())),
        );
        owners.extend(
            input
                .tenants
                .iter()
                .map(|t| Owner::Tenant(t.id.to_string())),
        );
        Relevance { owners }
    }

    fn contains(&self, owner: &Owner) -> bool {
        self.owners.contains(owner)
    }
}

#[derive(Default)]
struct Converter {
    problems: Vec<(Owner, Problem)>,
}

impl Converter {
    fn problem(&mut self, owner: Owner, path: &str, message: impl Into<String>) {
        self.problems.push((owner, Problem::new(path, message)));
    }

    fn currency(&mut self, owner: Owner, path: &str, code: Option<&str>) -> Option<Currency> {
        match Currency::from_code(code?) {
            Ok(c) => Some(c),
            Err(e) => {
                self.problem(owner, path, e.to_string());
                None
            }
        }
    }

    fn time_zone(&mut self, owner: Owner, path: &str, name: Option<&str>) -> Option<Tz> {
        let name = name?;
        match Tz::from_str(name) {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.problem(
                    owner,
                    path,
                    format!("{name:?} is not an IANA time zone name"),
                );
                None
            }
        }
    }

    fn decimal(&mut self, owner: Owner, path: &str, text: Option<&str>) -> Option<Decimal> {
        match parse_decimal(text?) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(owner, path, e.to_string());
                None
            }
        }
    }

    fn date(&mut self, owner: Owner, path: &str, text: Option<&str>) -> Option<NaiveDate> {
        let text = text?;
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) if text.len() == 10 => Some(d),
            _ => {
                self.problem(
                    owner,
                    path,
                    format!("{text:?} is not a date of the form YYYY-MM-DD"),
                );
                None
            }
        }
    }

    fn plan(
        &mut self,
        owner: Owner,
        path: &str,
        plan: Option<&serde_json::Value>,
    ) -> Option<stackbill_core::commission::CommissionPlan> {
        let plan = plan.filter(|v| !v.is_null())?;
        match read_commission_plan(&plan.to_string(), path) {
            Ok(p) => Some(p),
            Err(invalid) => {
                for p in invalid.problems {
                    self.problems.push((owner.clone(), p));
                }
                None
            }
        }
    }

    fn price_list(&mut self, rows: &Rows, l: &PriceListRow) -> PriceList {
        let at = |f: &str| format!("price_lists[{}].{f}", l.id);
        let (scope, owner) = match l.scope_kind.as_str() {
            "region" => (
                Some(PriceScope::Region(RegionId::new(&l.scope_id))),
                Owner::Global,
            ),
            "tenant" => (
                Some(PriceScope::Tenant(TenantId::new(&l.scope_id))),
                Owner::Tenant(l.scope_id.clone()),
            ),
            "subscription" => {
                let tenant = rows
                    .subscriptions
                    .iter()
                    .find(|s| s.id == l.scope_id)
                    .map_or_else(|| l.scope_id.clone(), |s| s.tenant.clone());
                (
                    Some(PriceScope::Subscription(SubscriptionId::new(&l.scope_id))),
                    Owner::Tenant(tenant),
                )
            }
            other => {
                self.problem(
                    Owner::Global,
                    &at("scope"),
                    format!("{other:?} is not region, tenant or subscription"),
                );
                (None, Owner::Global)
            }
        };
        let currency = self.currency(owner.clone(), &at("currency"), Some(&l.currency));
        let from = self.date(
            owner.clone(),
            &at("effective_from"),
            Some(&l.effective_from),
        );
        let to = self.date(
            owner.clone(),
            &at("effective_to"),
            l.effective_to.as_deref(),
        );
        let items = match read_price_items(&l.items.to_string(), &at("items")) {
            Ok(items) => items,
            Err(invalid) => {
                for p in invalid.problems {
                    self.problems.push((owner.clone(), p));
                }
                Vec::new()
            }
        };
        // A list whose scope or start could not be read is never in force, so it cannot
        // tie with a good one; its problem is reported instead.
        let known = scope.is_some() && from.is_some();
        PriceList {
            id: PriceListId::new(&l.id),
            scope: scope.unwrap_or_else(|| PriceScope::Region(RegionId::new(""))),
            currency: currency.unwrap_or(Currency::USD),
            effective_from: from.filter(|_| known).unwrap_or(NaiveDate::MAX),
            effective_to: to.filter(|_| known),
            items,
        }
    }

    fn fx(&mut self, i: usize, r: &FxRateRow) -> Option<stackbill_core::fx::FxRate> {
        let at = |f: &str| format!("fx_rates[{i}].{f}");
        let from = self.currency(Owner::Global, &at("from"), Some(&r.from));
        let to = self.currency(Owner::Global, &at("to"), Some(&r.to));
        let rate = self.decimal(Owner::Global, &at("rate"), Some(&r.rate));
        let as_of = self.date(Owner::Global, &at("as_of"), Some(&r.as_of));
        Some(stackbill_core::fx::FxRate {
            from: from?,
            to: to?,
            rate: rate?,
            as_of: as_of?,
        })
    }
}
