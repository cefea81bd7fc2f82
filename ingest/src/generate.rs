//! A seeded generator of realistic Azure Stack Hub usage and the matching scenario, for
//! benchmarks, tests and demos.
//!
//! N tenants (one subscription each) × M meters × H hours rows, in collection order (hour
//! by hour). Meters and their quantities follow the Azure Stack usage API: VM core-hours
//! with the VM size as sku, VM size hours, storage GB-hours, transactions in 10,000s, tiny
//! data-transfer quantities in exponent form, IP counts, and monthly disk meters emitted
//! hourly as fractions of a month.

use std::io::{self, Write};

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Tenants, one subscription each.
    pub tenants: usize,
    /// Meters per subscription (at most [`METERS`]`.len()`).
    pub meters: usize,
    /// Hours of usage from the first hour on.
    pub hours: u32,
    /// The first hour of usage relative to 2026-10-01T00:00Z; negative to start in
    /// September, so that tenants in zones ahead of UTC get their whole local month.
    pub first_hour: i32,
    /// Seed: the same seed gives the same bytes.
    pub seed: u64,
    /// Emit every n-th row a second time with a corrected quantity (a re-collected
    /// record with the same id); 0 for none.
    pub duplicate_every: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tenants: 2000,
            meters: 25,
            hours: 730,
            first_hour: 0,
            seed: 1,
            duplicate_every: 0,
        }
    }
}

/// The month generated usage falls in.
pub const PERIOD: &str = "2026-10";

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// vCPU count per hour, sku = VM size.
    Cores,
    /// 1 per VM per hour, sku = VM size.
    VmHours,
    /// GB × hours, two decimals.
    Capacity,
    /// Requests in 10,000s, four decimals.
    Transactions,
    /// Tiny GB quantities, sometimes in exponent form.
    Transfer,
    /// 1–3 addresses per hour.
    Addresses,
    /// Disks × month emitted hourly: count / hours in the month.
    DiskMonths,
    /// GB × month emitted hourly: size / hours in the month.
    SizeMonths,
    /// MB × hours.
    Megabytes,
}

/// The meters generated, spelled as their resource providers emit them.
pub const METERS: [(&str, &str); 26] = [
    ("fab6eb84-500b-4a09-a8ca-7358f8bbaea5", "Base VM Size Hours"),
    (
        "9cd92d4c-bafd-4492-b278-bedc2de8232a",
        "Windows VM Size Hours",
    ),
    ("6dab500f-a4fd-49c4-956d-229bb9c8c793", "VM size hours"),
    ("09F8879E-87E9-4305-A572-4B7BE209F857", "BlockBlobCapacity"),
    ("B5C15376-6C94-4FDD-B655-1A69D138ACA3", "PageBlobCapacity"),
    ("B4438D5D-453B-4EE1-B42A-DC72E377F1E4", "TableCapacity"),
    ("B03C6AE7-B080-4BFA-84A3-22C800F315C6", "QueueCapacity"),
    ("43DAF82B-4618-444A-B994-40C23F7CD438", "BlobTransactions"),
    ("B9FF3CD0-28AA-4762-84BB-FF8FBAEA6A90", "TableTransactions"),
    ("EB43DD12-1AA6-4C4B-872C-FAF15A6785EA", "QueueTransactions"),
    ("9764F92C-E44A-498E-8DC1-AAD66587A810", "BlobDataTransIn"),
    ("3023FEF4-ECA5-4D7B-87B3-CFBC061931E8", "BlobDataTransOut"),
    ("50A1AEAF-8ECA-48A0-8973-A5B3077FEE0D", "TableDataTransIn"),
    ("1B8C1DEC-EE42-414B-AA36-6229CF199370", "TableDataTransOut"),
    ("E518E809-E369-4A45-9274-2017B29FFF25", "QueueDataTransIn"),
    ("DD0A10BA-A5D6-4CB6-88C0-7D585CEF9FC2", "QueueDataTransOut"),
    (
        "F271A8A388C44D93956A063E1D2FA80B",
        "Static IP Address Usage",
    ),
    (
        "9E2739BA86744796B465F64674B822BA",
        "Dynamic IP Address Usage",
    ),
    ("380874f9-300c-48e0-95a0-d2d9a21ade8f", "S4"),
    ("d5f7731b-f639-404a-89d0-e46186e22c8d", "S10"),
    ("7660b45b-b29d-49cb-b816-59f30fbab011", "P4"),
    ("e554b6bc-96cd-4938-a5b5-0da990278519", "P10"),
    (
        "7ba084ec-ef9c-4d64-a179-7732c6cb5e28",
        "ActualStandardDiskSize",
    ),
    (
        "daef389a-06e5-4684-a7f7-8813d9f792d5",
        "ActualPremiumDiskSize",
    ),
    (
        "CBCFEF9A-B91F-4597-A4D3-01FE334BED82",
        "DatabaseSizeHourSqlMeter",
    ),
    (
        "E6D8CFCD-7734-495E-B1CC-5AB0B9C24BD3",
        "DatabaseSizeHourMySqlMeter",
    ),
];

fn kind(meter: usize) -> Kind {
    match meter {
        0 | 1 => Kind::Cores,
        2 => Kind::VmHours,
        3..=6 => Kind::Capacity,
        7..=9 => Kind::Transactions,
        10..=15 => Kind::Transfer,
        16 | 17 => Kind::Addresses,
        18..=21 => Kind::DiskMonths,
        22 | 23 => Kind::SizeMonths,
        _ => Kind::Megabytes,
    }
}

/// VM sizes and their vCPU counts.
const VM_SIZES: [(&str, u32); 6] = [
    ("Standard_A1", 1),
    ("Standard_D2_v2", 2),
    ("Standard_DS2_v2", 2),
    ("Standard_F2s", 2),
    ("Standard_F8s_v2", 8),
    ("Standard_D4_v2", 8),
];

/// SplitMix64: a tiny, well-mixed deterministic hash of the coordinates.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn r(seed: u64, a: u64, b: u64, c: u64) -> u64 {
    mix(seed ^ mix(a ^ mix(b ^ mix(c))))
}

fn subscription_id(seed: u64, t: usize) -> String {
    let a = r(seed, 1, t as u64, 0);
    let b = r(seed, 2, t as u64, 0);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48 & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn tenant_id(t: usize) -> String {
    format!("ten-{t:05}")
}

fn partner_of(t: usize) -> usize {
    t / 40
}

fn partners(c: &Config) -> usize {
    c.tenants.div_ceil(40).max(1)
}

fn vm_size(seed: u64, t: usize) -> (&'static str, u32) {
    VM_SIZES[(r(seed, 3, t as u64, 0) % VM_SIZES.len() as u64) as usize]
}

/// Hours in the generated month, for the monthly-fraction meters.
const MONTH_HOURS: u32 = 744;

fn quantity(c: &Config, t: usize, m: usize, h: u32, out: &mut String) {
    use std::fmt::Write as _;
    let x = r(c.seed, 4 + m as u64, t as u64, u64::from(h));
    out.clear();
    let _ = match kind(m) {
        Kind::Cores => write!(out, "{}", vm_size(c.seed, t).1),
        Kind::VmHours => write!(out, "1"),
        Kind::Capacity => write!(out, "{}.{:02}", 1 + x % 2048, (x >> 20) % 100),
        Kind::Transactions => write!(out, "0.{:04}", x % 10_000),
        Kind::Transfer => {
            if x.is_multiple_of(4) {
                write!(
                    out,
                    "{}.{:014}e-{:02}",
                    1 + x % 9,
                    (x >> 8) % 100_000_000_000_000,
                    5 + (x >> 60) % 4
                )
            } else {
                write!(out, "0.{:06}", (x >> 4) % 1_000_000)
            }
        }
        Kind::Addresses => write!(out, "{}", 1 + x % 3),
        Kind::DiskMonths => {
            let q = Decimal::from(1 + x % 4) / Decimal::from(MONTH_HOURS);
            write!(out, "{}", q.round_dp(19).normalize())
        }
        Kind::SizeMonths => {
            let q = Decimal::from(32 * (1 + x % 32)) / Decimal::from(MONTH_HOURS);
            write!(out, "{}", q.round_dp(17).normalize())
        }
        Kind::Megabytes => write!(out, "{}", 100 + x % 100_000),
    };
}

fn sku(c: &Config, t: usize, m: usize) -> &'static str {
    match kind(m) {
        Kind::Cores | Kind::VmHours => vm_size(c.seed, t).0,
        _ => "",
    }
}

fn resource(t: usize, m: usize, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    let _ = match kind(m) {
        Kind::Cores | Kind::VmHours => write!(out, "vm-{t:05}"),
        Kind::DiskMonths | Kind::SizeMonths => write!(out, "disk-{t:05}-{m}"),
        Kind::Addresses => write!(out, "ip-{t:05}-{m}"),
        Kind::Megabytes => write!(out, "db-{t:05}"),
        _ => write!(out, "sa{t:05}"),
    };
}

/// Number of rows [`write_csv`] writes.
pub fn rows(c: &Config) -> u64 {
    let base = c.tenants as u64 * c.meters.min(METERS.len()) as u64 * u64::from(c.hours);
    base + base.checked_div(c.duplicate_every).unwrap_or(0)
}

/// Writes the usage as CSV with the header `id,subscription,meter,sku,resource,start,end,quantity`.
/// `progress` is called with the number of rows written every 65,536 rows.
pub fn write_csv(
    c: &Config,
    out: &mut impl Write,
    mut progress: impl FnMut(u64),
) -> io::Result<u64> {
    writeln!(out, "id,subscription,meter,sku,resource,start,end,quantity")?;
    let meters = c.meters.min(METERS.len());
    let subs: Vec<String> = (0..c.tenants).map(|t| subscription_id(c.seed, t)).collect();
    let start = NaiveDate::from_ymd_opt(2026, 10, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let stamp = |h: u32| {
        (start + Duration::hours(i64::from(c.first_hour) + i64::from(h)))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut q = String::new();
    let mut res = String::new();
    let mut n = 0u64;
    for h in 0..c.hours {
        let (s, e) = (stamp(h), stamp(h + 1));
        for (t, sub) in subs.iter().enumerate() {
            for (m, (meter, _)) in METERS.iter().enumerate().take(meters) {
                quantity(c, t, m, h, &mut q);
                resource(t, m, &mut res);
                let id = r(c.seed, 99, (t * 64 + m) as u64, u64::from(h));
                let line = format!("{id:016x},{sub},{meter},{},{res},{s},{e},", sku(c, t, m));
                out.write_all(line.as_bytes())?;
                out.write_all(q.as_bytes())?;
                out.write_all(b"\n")?;
                n += 1;
                if c.duplicate_every > 0 && n.is_multiple_of(c.duplicate_every) {
                    // A re-collected record: same id, corrected quantity; the last wins.
                    out.write_all(line.as_bytes())?;
                    out.write_all(b"0.5\n")?;
                }
                if n.is_multiple_of(65_536) {
                    progress(n);
                }
            }
        }
    }
    Ok(rows(c))
}

fn tiers(mode: &str, bands: &[(&str, Option<&str>, &str)]) -> Value {
    json!({"mode": mode, "bands": bands.iter().map(|(f, t, v)| json!({"from": f, "to": t, "rate": v})).collect::<Vec<_>>()})
}

fn plan(mode: &str, bands: &[(&str, Option<&str>, &str)]) -> Value {
    json!({"mode": mode, "bands": bands.iter().map(|(f, t, v)| json!({"from": f, "to": t, "percent": v})).collect::<Vec<_>>()})
}

/// The scenario the generated usage belongs to (with an empty `usage`): two distributors,
/// a partner per 40 tenants, tenants in four zones and three currencies, a region price
/// list with flat, tiered, per-month and SKU items (and the previous year's list), tenant
/// deals with credits, a USD-priced subscription list, FX rates and commission plans.
pub fn scenario(c: &Config) -> Value {
    let meters = c.meters.min(METERS.len());
    let distributors = json!([
        {"id": "dist-apac", "currency": "AUD",
         "commission": plan("graduated", &[("0", Some("100000"), "2"), ("100000", None, "3")]),
         "partner_commission": plan("volume", &[("0", Some("5000"), "5"), ("5000", None, "8")])},
        {"id": "dist-pacific", "currency": "NZD"}
    ]);
    let partners: Vec<Value> = (0..partners(c))
        .map(|p| {
            let mut v = json!({"id": format!("part-{p:03}"), "distributor": if p % 5 == 4 { "dist-pacific" } else { "dist-apac" }});
            if p % 3 == 1 {
                v["commission"] = plan("graduated", &[("0", Some("1000"), "10"), ("1000", None, "12.5")]);
            }
            v
        })
        .collect();
    let tenants: Vec<Value> = (0..c.tenants)
        .map(|t| {
            let (currency, zone, tax) = match t % 50 {
                0 => ("USD", "UTC", "0"),
                5 | 15 | 25 | 35 | 45 => ("NZD", "Pacific/Auckland", "15"),
                7 | 27 => ("AUD", "Australia/Perth", "10"),
                _ => ("AUD", "Australia/Melbourne", "10"),
            };
            json!({"id": tenant_id(t), "partner": format!("part-{:03}", partner_of(t)),
                   "currency": currency, "time_zone": zone, "tax_percent": tax})
        })
        .collect();
    let subscriptions: Vec<Value> = (0..c.tenants)
        .map(
            |t| json!({"id": subscription_id(c.seed, t), "tenant": tenant_id(t), "region": "mel1"}),
        )
        .collect();
    let item = |m: usize| -> Vec<Value> {
        let meter = METERS[m].0;
        match kind(m) {
            Kind::Cores => vec![
                json!({"meter": meter, "rate": if m == 0 { "0.045" } else { "0.062" }}),
                json!({"meter": meter, "sku": "Standard_F8s_v2", "rate": if m == 0 { "0.041" } else { "0.058" }}),
            ],
            Kind::VmHours => vec![json!({"meter": meter, "rate": "7.30", "per": "month"})],
            Kind::Capacity => vec![json!({"meter": meter, "tiers": tiers("graduated", &[
                ("0", Some("100000"), "0.00012"), ("100000", Some("1000000"), "0.0001"), ("1000000", None, "0.00008")])})],
            Kind::Transactions => vec![json!({"meter": meter, "rate": "0.0036"})],
            Kind::Transfer => vec![json!({"meter": meter, "rate": "0.08"})],
            Kind::Addresses => vec![json!({"meter": meter, "rate": "0.005"})],
            Kind::DiskMonths => {
                vec![json!({"meter": meter, "rate": if m < 20 { "2.40" } else { "6.75" }})]
            }
            Kind::SizeMonths => vec![json!({"meter": meter, "rate": "0.04"})],
            Kind::Megabytes => vec![json!({"meter": meter, "tiers": tiers("volume", &[
                ("0", Some("10000000"), "0.0000001"), ("10000000", None, "0.00000008")])})],
        }
    };
    let region_items: Vec<Value> = (0..meters).flat_map(item).collect();
    let old_items: Vec<Value> = (0..meters)
        .map(|m| json!({"meter": METERS[m].0, "rate": "0.1"}))
        .collect();
    let mut price_lists = vec![
        json!({"id": "mel1-2025", "scope": {"region": "mel1"}, "currency": "AUD",
               "effective_from": "2025-01-01", "effective_to": "2026-01-01", "items": old_items}),
        json!({"id": "mel1-2026", "scope": {"region": "mel1"}, "currency": "AUD",
               "effective_from": "2026-01-01", "items": region_items}),
    ];
    for t in (3..c.tenants).step_by(20) {
        let mut items = vec![json!({"meter": METERS[0].0, "rate": "0.039", "credit": "25"})];
        if meters > 3 {
            items.push(json!({"meter": METERS[3].0, "rate": "0.0001", "credit": "40"}));
        }
        price_lists.push(
            json!({"id": format!("deal-{}", tenant_id(t)), "scope": {"tenant": tenant_id(t)},
                                "currency": "AUD", "effective_from": "2026-07-01", "items": items}),
        );
    }
    for t in (11..c.tenants).step_by(50) {
        price_lists.push(json!({"id": format!("usd-{}", tenant_id(t)), "scope": {"subscription": subscription_id(c.seed, t)},
                                "currency": "USD", "effective_from": "2026-09-01",
                                "items": [{"meter": METERS[1].0, "rate": "0.04", "credit": "10"}]}));
    }
    json!({
        "period": PERIOD,
        "platform": {"currency": "AUD", "time_zone": "Australia/Melbourne", "monthly_variable_pricing": true, "rounding": "half_even"},
        "distributors": distributors,
        "partners": partners,
        "tenants": tenants,
        "subscriptions": subscriptions,
        "price_lists": price_lists,
        "fx_rates": [
            {"from": "USD", "to": "AUD", "rate": "1.5312", "as_of": "2026-10-31"},
            {"from": "NZD", "to": "AUD", "rate": "0.9012", "as_of": "2026-10-31"},
            {"from": "USD", "to": "NZD", "rate": "1.6969", "as_of": "2026-10-30"},
            {"from": "AUD", "to": "USD", "rate": "0.6531", "as_of": "2026-10-31"}
        ],
        "usage": []
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let c = Config {
            tenants: 3,
            meters: 26,
            hours: 2,
            first_hour: 0,
            seed: 7,
            duplicate_every: 10,
        };
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_csv(&c, &mut a, |_| {}).unwrap();
        write_csv(&c, &mut b, |_| {}).unwrap();
        assert_eq!(a, b);
        let lines = a.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64;
        assert_eq!(lines, rows(&c) + 1);
        let text = String::from_utf8(a).unwrap();
        assert!(
            text.contains("e-0"),
            "some transfer quantities use exponents"
        );
        assert!(text.contains("Standard_"), "VM meters carry the VM size");
    }
}
