//! The CSV block splitter: a file cut into blocks where the reader cuts it (after the
//! last complete record of a prefix) splits into exactly the rows of the whole file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackbill_ingest::fuzzing::{block_end, csv_rows};

fuzz_target!(|input: (u16, &[u8])| {
    let (cut, data) = input;
    let whole = csv_rows(data);
    let prefix = &data[..usize::from(cut).min(data.len())];
    let Some(end) = block_end(prefix) else {
        return;
    };
    let mut pieces = csv_rows(&data[..end]);
    pieces.extend(csv_rows(&data[end..]));
    assert_eq!(pieces, whole, "cut at {end}");
});
