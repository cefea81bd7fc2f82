//! Raw `subscriberUsageAggregates` pages: any body is read or refused, never a panic;
//! every row read keeps an exact decimal quantity, a usage end after its start and a
//! canonical meter; every row refused keeps its raw text, verbatim from the body (which
//! may still not parse as a JSON value: a lone surrogate escape passes the raw reader),
//! and a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackbill_collector::Identities;
use stackbill_collector::page::parse_page;

fuzz_target!(|data: &[u8]| {
    let Ok(page) = parse_page(data) else {
        return;
    };
    let mut ids = Identities::new("fuzz", (0, 3_600_000_000_000));
    for row in &page.rows {
        assert!(stackbill_core::number::parse_decimal(&row.quantity).is_ok());
        assert!(row.end_ns > row.start_ns);
        assert_eq!(stackbill_core::meter::canonical_meter(&row.meter), row.meter);
        assert!(ids.id(row).starts_with("az-"));
    }
    for rejected in &page.rejected {
        assert!(!rejected.reason.is_empty());
        let raw = rejected.raw.as_bytes();
        assert!(!raw.is_empty() && data.windows(raw.len()).any(|w| w == raw));
    }
});
