-- Usage kept compact and summed at ingest, so that billing reads aggregates, not rows.
--
-- usage_keys: each distinct reported (subscription, meter, sku, resource), stored once and
--   named by a SHA-256 digest of the four fields (length-prefixed, NULL distinct from '').
-- usage_rows: one row per record id, in arrival order (seq). Text columns are kept only
--   when the parsed column cannot reproduce them (start_text/end_text NULL = the
--   canonical RFC 3339 spelling of start_ns/end_ns). flags: 1 synthetic id, 2 malformed,
--   4 invalid (invalid_usage whatever its start).
-- usage_rollups: per (UTC day of start, key, invalid) the exact sum of the quantities
--   (plain decimal text, every digit kept) and the number of rows, maintained in the
--   ingest transaction and corrected when a record is replaced.
-- usage_batches gains the seq span of the rows it wrote and how many had no start.
-- The old table is renamed; `stackbill migrate` moves its rows (SqlStore::convert_legacy_usage).
CREATE TABLE usage_keys (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  digest TEXT NOT NULL UNIQUE,
  subscription TEXT NULL,
  meter TEXT NULL,
  sku TEXT NULL,
  resource TEXT NULL
);
CREATE INDEX ix_usage_keys_subscription ON usage_keys (subscription);

CREATE TABLE usage_rows (
  seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  batch_id INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  start_ns INTEGER NULL,
  end_ns INTEGER NULL,
  quantity TEXT NULL,
  start_text TEXT NULL,
  end_text TEXT NULL,
  flags INTEGER NOT NULL
);
CREATE INDEX ix_usage_rows_start ON usage_rows (start_ns);

CREATE TABLE usage_rollups (
  day INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  invalid INTEGER NOT NULL,
  quantity TEXT NOT NULL,
  records INTEGER NOT NULL,
  PRIMARY KEY (day, key_id, invalid)
) WITHOUT ROWID;

ALTER TABLE usage_batches ADD COLUMN first_seq INTEGER NULL;
ALTER TABLE usage_batches ADD COLUMN last_seq INTEGER NULL;
ALTER TABLE usage_batches ADD COLUMN unstarted_rows INTEGER NOT NULL DEFAULT 0;

ALTER TABLE usage_records RENAME TO usage_legacy;
