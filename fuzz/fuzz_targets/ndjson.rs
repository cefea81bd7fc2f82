//! NDJSON usage lines: any line is read or refused, never a panic, and a line read once
//! reads the same again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackbill_core::scenario::json::parse_usage_line;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(usage) = parse_usage_line(text) {
        let first = format!("{:?}", usage.text());
        let again = parse_usage_line(text).map(|u| format!("{:?}", u.text()));
        assert_eq!(again.ok(), Some(first));
    }
});
