//! The scenario JSON reader and the engine behind it: any text is read into a scenario
//! or refused with problems, never a panic; a scenario rates the same twice, and its
//! output is valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackbill_core::scenario::json::{Document, outcome_to_string};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = Document::parse(text) else {
        return;
    };
    let first = doc.rate().map(|o| outcome_to_string(&o));
    let second = doc.rate().map(|o| outcome_to_string(&o));
    match (first, second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "rating is deterministic");
            let _: serde_json::Value = serde_json::from_str(&a).expect("the output is JSON");
        }
        (Err(_), Err(_)) => {}
        _ => panic!("rating the same scenario twice disagreed"),
    }
});
