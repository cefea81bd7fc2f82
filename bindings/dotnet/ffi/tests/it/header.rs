//! `stackbill.h` is exactly what cbindgen generates from `src/lib.rs` now.
//! `STACKBILL_BLESS=1 cargo test -p stackbill-ffi --test it header` rewrites it.

use std::path::Path;

#[test]
fn header_matches_the_source() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = dir.join("stackbill.h");
    if std::env::var_os("STACKBILL_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write stackbill.h");
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "stackbill.h is stale; regenerate it with \
         STACKBILL_BLESS=1 cargo test -p stackbill-ffi --test it header\n--- generated:\n{}",
        String::from_utf8_lossy(&generated)
    );
}
