//! Token verification and secret unsealing on untrusted text never panic and never
//! accept what the key did not produce; what is sealed unseals to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackbill_server::fuzzing::FuzzKeys;

fuzz_target!(|input: (&[u8], &str)| {
    let (plain, text) = input;
    let keys = FuzzKeys::new(&[7; 64]);
    assert!(keys.unseal(text).is_none(), "forged a sealed secret");
    assert!(keys.verify(text).is_none(), "forged a token");
    if let Some(sealed) = keys.seal(plain) {
        assert_eq!(keys.unseal(&sealed).as_deref(), Some(plain));
    }
    if let Some(token) = keys.sign(text) {
        assert_eq!(keys.verify(&token).as_deref(), Some(text));
    }
});
