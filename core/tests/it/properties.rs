//! Property tests of the engine's invariants.

use std::str::FromStr;

use proptest::prelude::*;
use serde_json::{Value, json};
use stackbill_core::Decimal;
use stackbill_core::meter::canonical_meter;
use stackbill_core::money::RoundingMode;
use stackbill_core::scenario::json as sj;
use stackbill_core::tiers::{Band, TierMode, Tiers};

/// Decimals with up to `dp` places in `[0, max)`.
fn decimal(max: i64, dp: u32) -> impl Strategy<Value = Decimal> {
    let scale = 10i64.pow(dp);
    (0..max * scale).prop_map(move |m| Decimal::new(m, dp))
}

/// Valid band lists: strictly increasing bounds starting at 0, last unbounded.
fn bands() -> impl Strategy<Value = Vec<Band>> {
    (
        prop::collection::vec(decimal(500, 2).prop_map(|d| d + Decimal::new(1, 2)), 0..4),
        prop::collection::vec(decimal(10, 4), 4),
    )
        .prop_map(|(widths, rates)| {
            let mut from = Decimal::ZERO;
            let mut out = Vec::new();
            for (i, w) in widths.iter().enumerate() {
                out.push(Band {
                    from,
                    to: Some(from + w),
                    value: rates[i],
                });
                from += w;
            }
            out.push(Band {
                from,
                to: None,
                value: rates[widths.len()],
            });
            out
        })
}

/// Length of `[lo, hi)` ∩ `[from, to)`, computed independently of the engine.
fn overlap(lo: Decimal, hi: Decimal, b: &Band) -> Decimal {
    let top = b.to.map_or(hi, |to| hi.min(to));
    (top - lo.max(b.from)).max(Decimal::ZERO)
}

proptest! {
    #[test]
    fn graduated_is_additive_across_band_boundaries(
        bands in bands(), q1 in decimal(2000, 3), q2 in decimal(2000, 3)
    ) {
        let t = Tiers::new(TierMode::Graduated, bands.clone()).unwrap();
        let marginal: Decimal = bands.iter().map(|b| b.value * overlap(q1, q1 + q2, b)).sum();
        prop_assert_eq!(t.apply(q1 + q2).unwrap(), t.apply(q1).unwrap() + marginal);
    }

    #[test]
    fn tiers_partition_quantity(bands in bands(), q in decimal(3000, 3)) {
        let parts: Decimal = bands.iter().map(|b| overlap(Decimal::ZERO, q, b)).sum();
        prop_assert_eq!(parts, q);
        let t = Tiers::new(TierMode::Graduated, bands.clone()).unwrap();
        let reference: Decimal = bands.iter().map(|b| b.value * overlap(Decimal::ZERO, q, b)).sum();
        prop_assert_eq!(t.apply(q).unwrap(), reference);
    }

    #[test]
    fn graduated_is_monotone(bands in bands(), q1 in decimal(2000, 3), q2 in decimal(2000, 3)) {
        let t = Tiers::new(TierMode::Graduated, bands).unwrap();
        let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
        prop_assert!(t.apply(lo).unwrap() <= t.apply(hi).unwrap());
    }

    #[test]
    fn volume_and_graduated_agree_within_the_first_band(bands in bands(), f in 0u32..=100) {
        let first_to = bands[0].to.unwrap_or(Decimal::from(1000));
        let q = first_to * Decimal::from(f) / Decimal::from(100);
        let g = Tiers::new(TierMode::Graduated, bands.clone()).unwrap();
        let v = Tiers::new(TierMode::Volume, bands).unwrap();
        prop_assert_eq!(g.apply(q).unwrap(), v.apply(q).unwrap());
    }

    #[test]
    fn meter_canonicalisation_is_idempotent(raw in "\\PC{0,40}") {
        let once = canonical_meter(&raw);
        prop_assert_eq!(canonical_meter(&once), once);
    }

    #[test]
    fn guid_spellings_canonicalise_alike(
        hex in "[0-9a-fA-F]{32}", braces in any::<bool>(), hyphens in any::<bool>()
    ) {
        let mut s = if hyphens {
            format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
        } else {
            hex.clone()
        };
        if braces {
            s = format!("{{{s}}}");
        }
        prop_assert_eq!(canonical_meter(&s), canonical_meter(&hex.to_uppercase()));
        prop_assert_eq!(canonical_meter(&s).len(), 36);
    }

    #[test]
    fn rounding_modes_agree_except_on_exact_halves(m in -10_000_000i64..10_000_000, dp in 0u32..6) {
        let x = Decimal::new(m, dp);
        let even = RoundingMode::HalfEven.round(x, 2);
        let up = RoundingMode::HalfUp.round(x, 2);
        let scaled = x * Decimal::ONE_HUNDRED;
        let exact_half = (scaled - scaled.trunc()).abs() == Decimal::new(5, 1);
        prop_assert_eq!(even == up, !exact_half || (scaled.trunc() % Decimal::TWO).abs() == Decimal::ONE);
        prop_assert!((even - x).abs() <= Decimal::new(5, 3));
        prop_assert!((up - x).abs() <= Decimal::new(5, 3));
    }
}

const METERS: [&str; 3] = [
    "fab6eb84-500b-4a09-a8ca-7358f8bbaea5",
    "09F8879E87E94305A5724B7BE209F857",
    "vm-size-hours",
];
const SKUS: [Option<&str>; 3] = [None, Some("Standard_D2_v2"), Some("Standard_F8s_v2")];

fn item() -> impl Strategy<Value = Value> {
    (
        0..METERS.len(),
        0..SKUS.len(),
        prop_oneof![
            decimal(2, 4).prop_map(|r| json!({"rate": r.to_string()})),
            (bands(), any::<bool>()).prop_map(|(b, graduated)| json!({"tiers": {
                "mode": if graduated { "graduated" } else { "volume" },
                "bands": b.iter().map(|b| json!({
                    "from": b.from.to_string(), "to": b.to.map(|t| t.to_string()), "rate": b.value.to_string()
                })).collect::<Vec<_>>()
            }}))
        ],
        any::<bool>(),
        prop::option::of(decimal(20, 2)),
    )
        .prop_map(|(m, s, rate, monthly, credit)| {
            let mut item = rate;
            item["meter"] = json!(METERS[m]);
            item["sku"] = json!(SKUS[s]);
            if monthly {
                item["per"] = json!("month");
            }
            if let Some(c) = credit {
                item["credit"] = json!(c.to_string());
            }
            item
        })
}

/// A random but valid scenario: several scopes, currencies, tiers, credits and usage.
fn scenario() -> impl Strategy<Value = Value> {
    let subs = prop::collection::vec((0..3usize, 0..2usize), 1..5);
    let lists = prop::collection::vec(
        (
            0..6usize,
            any::<bool>(),
            prop::collection::vec(item(), 0..5),
        ),
        0..7,
    );
    let usage = prop::collection::vec(
        (
            0..5usize,
            0..METERS.len(),
            0..SKUS.len(),
            0..31u32,
            decimal(500, 3),
        ),
        0..40,
    );
    (subs, lists, usage, prop::bool::ANY, prop::bool::ANY).prop_map(
        |(subs, lists, usage, half_up, mvp)| {
            let tenants: Vec<Value> = (0..3)
                .map(|t| {
                    let tax = ["0", "10", "12.5"][t];
                    let currency = ["AUD", "NZD", "AUD"][t];
                    json!({"id": format!("t{t}"), "partner": "p", "tax_percent": tax, "currency": currency})
                })
                .collect();
            let subscriptions: Vec<Value> = subs
                .iter()
                .enumerate()
                .map(|(i, (t, r))| json!({"id": format!("s{i}"), "tenant": format!("t{t}"), "region": format!("r{r}")}))
                .collect();
            // Scope slot k: 0-1 regions, 2-4 tenants, 5 a subscription. Each list gets a
            // distinct effective_from so no two tie.
            let price_lists: Vec<Value> = lists
                .iter()
                .enumerate()
                .map(|(i, (k, usd, items))| {
                    let scope = match k {
                        0 | 1 => json!({"region": format!("r{k}")}),
                        2..=4 => json!({"tenant": format!("t{}", k - 2)}),
                        _ => json!({"subscription": "s0"}),
                    };
                    // Keep (meter, sku) unique within a list.
                    let mut seen = std::collections::HashSet::new();
                    let items: Vec<Value> = items
                        .iter()
                        .filter(|it| seen.insert((canonical_meter(it["meter"].as_str().unwrap()), it["sku"].clone())))
                        .cloned()
                        .collect();
                    json!({"id": format!("pl{i}"), "scope": scope, "currency": if *usd { "USD" } else { "AUD" },
                           "effective_from": format!("2026-{:02}-01", 1 + i), "items": items})
                })
                .collect();
            let usage: Vec<Value> = usage
                .iter()
                .map(|(s, m, k, day, q)| json!({
                    "subscription": format!("s{s}"), "meter": METERS[*m], "sku": SKUS[*k],
                    "start": format!("2026-10-{:02}T03:00:00Z", day + 1),
                    "end": format!("2026-10-{:02}T04:00:00Z", day + 1),
                    "quantity": q.to_string()
                }))
                .collect();
            json!({
                "period": "2026-10",
                "platform": {"currency": "AUD", "rounding": if half_up { "half_up" } else { "half_even" },
                             "monthly_variable_pricing": mvp},
                "distributors": [{"id": "d", "partner_commission": {"mode": "graduated", "bands": [
                    {"from": "0", "to": "100", "percent": "5"}, {"from": "100", "to": null, "percent": "7.5"}]}}],
                "partners": [{"id": "p", "distributor": "d"}],
                "tenants": tenants,
                "subscriptions": subscriptions,
                "price_lists": price_lists,
                "fx_rates": [{"from": "USD", "to": "AUD", "rate": "1.5312", "as_of": "2026-10-01"},
                             {"from": "NZD", "to": "AUD", "rate": "0.9012", "as_of": "2026-10-01"},
                             {"from": "USD", "to": "NZD", "rate": "1.6969", "as_of": "2026-10-01"}],
                "usage": usage,
            })
        },
    )
}

fn rate(doc: &Value) -> Value {
    let outcome = sj::rate_document(&doc.to_string()).unwrap();
    sj::outcome_to_value(&outcome)
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn invoice_total_is_lines_plus_tax(doc in scenario()) {
        let out = rate(&doc);
        for inv in out["invoices"].as_array().unwrap() {
            let lines: Decimal = inv["lines"].as_array().unwrap().iter().map(|l| dec(&l["amount"])).sum();
            prop_assert_eq!(dec(&inv["subtotal"]), lines);
            prop_assert_eq!(dec(&inv["total"]), dec(&inv["subtotal"]) + dec(&inv["tax"]));
            // Credits never exceed the charges of the invoice.
            prop_assert!(dec(&inv["subtotal"]) >= Decimal::ZERO);
        }
        // Nothing is lost: every record is either billed or reported unbilled.
        let usage = doc["usage"].as_array().unwrap().len() as u64;
        let billed: Decimal = out["invoices"].as_array().unwrap().iter()
            .flat_map(|i| i["lines"].as_array().unwrap().iter())
            .filter_map(|l| l["quantity"].as_str()).map(|q| Decimal::from_str(q).unwrap()).sum();
        let unbilled: Decimal = out["unbilled"].as_array().unwrap().iter().map(|u| dec(&u["quantity"])).sum();
        let input: Decimal = doc["usage"].as_array().unwrap().iter().map(|u| dec(&u["quantity"])).sum();
        prop_assert_eq!(billed + unbilled, input);
        let _ = usage;
    }

    #[test]
    fn output_does_not_depend_on_input_order(doc in scenario(), seed in any::<u64>()) {
        let want = rate(&doc);
        let mut shuffled = doc.clone();
        for key in ["price_lists", "usage", "subscriptions", "tenants"] {
            let arr = shuffled[key].as_array_mut().unwrap();
            // A deterministic Fisher–Yates from the seed.
            let mut state = seed | 1;
            for i in (1..arr.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                arr.swap(i, (state % (i as u64 + 1)) as usize);
            }
        }
        prop_assert_eq!(rate(&shuffled), want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A run narrowed to some tenants (a partner's, a distributor's or one tenant's run)
    /// gives exactly the full run's invoices for those tenants, although other tenants
    /// have their own price lists.
    #[test]
    fn narrowed_run_equals_the_full_run_for_those_tenants(doc in scenario(), mask in 0u8..8) {
        use stackbill_core::hierarchy::TenantId;
        use stackbill_core::{Rater, Scenario};
        let text = doc.to_string();
        let parsed = sj::Document::parse(&text).unwrap();
        let full = parsed.rate().unwrap();
        let keep = |t: &TenantId| {
            let i: u32 = t.as_str()[1..].parse().unwrap();
            mask & (1 << i) != 0
        };
        let narrowed = Scenario::new(parsed.scenario().to_input().narrowed(keep)).unwrap();
        let mut rater = Rater::new(&narrowed);
        for raw in parsed.usage() {
            sj::with_record(raw, |r| {
                let ours = r
                    .subscription
                    .is_some_and(|s| narrowed.hierarchy().subscription_index(s).is_some());
                if ours { rater.push(r) } else { Ok(()) }
            })
            .unwrap();
        }
        let part = rater.finish().unwrap();
        let want: Vec<_> = full.invoices.iter().filter(|i| keep(&i.tenant)).cloned().collect();
        prop_assert_eq!(part.invoices, want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Usage summed ahead of time per (subscription, meter, sku, UTC day) — as a store
    /// keeps it — rates exactly like the same records pushed one by one, whatever the
    /// tenants' zones and the subscriptions' end dates; a refused roll-up's records are
    /// pushed one by one instead.
    #[test]
    fn rollups_rate_like_their_records(
        doc in scenario(),
        zones in prop::collection::vec(0..3usize, 3),
        ends in prop::collection::vec(prop::option::of(1..31u32), 5),
        hours in prop::collection::vec(0..24u32, 40),
    ) {
        use std::collections::BTreeMap;
        use stackbill_core::{Quantity, Rater, Rollup};
        const DAY: i64 = 86_400_000_000_000;
        let mut doc = doc;
        for (i, t) in doc["tenants"].as_array_mut().unwrap().iter_mut().enumerate() {
            t["time_zone"] = json!(["UTC", "Australia/Sydney", "Asia/Kolkata"][zones[i]]);
        }
        for (i, s) in doc["subscriptions"].as_array_mut().unwrap().iter_mut().enumerate() {
            if let Some(d) = ends[i] {
                s["ends_on"] = json!(format!("2026-10-{d:02}"));
            }
        }
        // Spread starts over the day and into the neighbouring months.
        for (i, u) in doc["usage"].as_array_mut().unwrap().iter_mut().enumerate() {
            let start = u["start"].as_str().unwrap().replace("T03:", &format!("T{:02}:", hours[i]));
            let start = if i % 7 == 0 { start.replace("2026-10-01", "2026-09-30") } else { start };
            let end = start.replacen(":00:00Z", ":30:00Z", 1);
            u["start"] = json!(start);
            u["end"] = json!(end);
        }
        let text = doc.to_string();
        let parsed = sj::Document::parse(&text).unwrap();
        let want = parsed.rate().unwrap();

        // (subscription, meter, sku, day) → (sum, records, the records themselves)
        type Key = (Option<String>, Option<String>, Option<String>, i64);
        let mut sums: BTreeMap<Key, (Quantity, u64, Vec<usize>)> = BTreeMap::new();
        for (i, raw) in parsed.usage().iter().enumerate() {
            sj::with_record(raw, |r| {
                let day = r.start.unwrap().div_euclid(DAY);
                let key = (r.subscription.map(str::to_owned), r.meter.map(str::to_owned), r.sku.map(str::to_owned), day);
                let e = sums.entry(key).or_insert((Quantity::ZERO, 0, Vec::new()));
                e.0 = e.0.checked_add(r.quantity.unwrap()).unwrap();
                e.1 += 1;
                e.2.push(i);
            });
        }
        let mut rater = Rater::new(parsed.scenario());
        for ((sub, meter, sku, day), (quantity, records, rows)) in &sums {
            let rollup = Rollup {
                subscription: sub.as_deref(), meter: meter.as_deref(), sku: sku.as_deref(),
                starts: (day * DAY, (day + 1) * DAY), invalid: false,
                quantity: *quantity, records: *records,
            };
            if !rater.push_rollup(&rollup).unwrap() {
                for &i in rows {
                    sj::with_record(&parsed.usage()[i], |r| rater.push(r)).unwrap();
                }
            }
        }
        prop_assert_eq!(rater.finish().unwrap(), want);
    }

    /// A running sum's text reads back to the same quantity.
    #[test]
    fn quantity_text_round_trips(int in any::<i64>(), frac in 0u64..u64::MAX, scale in 0u32..28) {
        use stackbill_core::Quantity;
        let text = format!("{int}.{frac}");
        let q = Quantity::parse(&text).unwrap_or(Quantity::ZERO);
        let sum = q.checked_add(Quantity::parse(&format!("0.{:0>width$}1", "", width = scale as usize)).unwrap()).unwrap();
        prop_assert_eq!(Quantity::parse_exact(&sum.to_string()), Some(sum));
        prop_assert_eq!(Quantity::parse_exact(&(-sum).to_string()), Some(-sum));
    }
}
