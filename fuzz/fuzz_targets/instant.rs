//! RFC 3339 instants: whatever is accepted is a real instant that prints back and reads
//! again to the same nanosecond.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackbill_core::usage::parse_instant;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(ns) = parse_instant(text) {
        let t = chrono::DateTime::from_timestamp_nanos(ns);
        let shown = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        assert_eq!(parse_instant(&shown), Some(ns), "{text:?} → {shown:?}");
    }
});
