//! Request bodies of the main endpoints (sign-in, MFA, users, tenants, price lists,
//! billing runs, usage batches) through the server's strict reader: duplicate keys,
//! deep nesting, huge numbers and bad UTF-8 are refused, never a panic. E-mail addresses
//! normalise to a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackbill_server::fuzzing::{email, request_body};

fuzz_target!(|input: (u8, &[u8])| {
    let (kind, bytes) = input;
    request_body(kind, bytes);
    if let Ok(text) = std::str::from_utf8(bytes)
        && let Some(stored) = email(text)
    {
        assert_eq!(email(&stored).as_deref(), Some(stored.as_str()), "{text:?}");
    }
});
