//! The decimal grammar: the fast quantity reader accepts exactly what `parse_decimal`
//! accepts, with the same value; what is read prints back to text that reads again to
//! the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackbill_core::number::{format_plain, parse_decimal};
use stackbill_core::quantity::Quantity;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decimal = parse_decimal(text).ok();
    let quantity = Quantity::parse(text);
    assert_eq!(
        decimal.map(Quantity::from_decimal),
        quantity,
        "Quantity::parse agrees with parse_decimal on {text:?}"
    );
    if let Some(d) = decimal {
        let plain = format_plain(d);
        assert_eq!(parse_decimal(&plain).ok(), Some(d), "{text:?} → {plain:?}");
    }
    if let Some(q) = Quantity::parse_exact(text) {
        let shown = q.to_string();
        assert_eq!(
            Quantity::parse_exact(&shown),
            Some(q),
            "{text:?} → {shown:?}"
        );
    }
});
