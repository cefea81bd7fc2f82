//! Entry points for the fuzz targets in `fuzz/` (not a stable API): the CSV row
//! splitter and the block boundary the reader cuts files at.

use crate::csv::{Splitter, last_record_end};

/// One split row: its fields, whether it broke RFC 4180, and the lines it spans.
pub type SplitRow = (Vec<Vec<u8>>, bool, u64);

/// Every row of `data`, split from the start.
pub fn csv_rows(data: &[u8]) -> Vec<SplitRow> {
    let mut splitter = Splitter::default();
    let mut rows = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let row = splitter.split(data, pos);
        let fields = (0..splitter.len())
            .filter_map(|i| splitter.field(data, i).map(<[u8]>::to_vec))
            .collect();
        rows.push((fields, splitter.broken, row.lines));
        if row.next <= pos {
            break;
        }
        pos = row.next;
    }
    rows
}

/// Where the reader would end a block holding `data`.
pub fn block_end(data: &[u8]) -> Option<usize> {
    last_record_end(data)
}
