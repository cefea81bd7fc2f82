-- Usage kept compact and summed at ingest, so that billing reads aggregates, not rows.
--
-- usage_keys: each distinct reported (subscription, meter, sku, resource), stored once and
--   named by a SHA-256 digest of the four fields (length-prefixed, NULL distinct from '').
-- usage_rows: one row per record id, clustered on arrival order (seq). Text columns are
--   kept only when the parsed column cannot reproduce them (start_text/end_text NULL =
--   the canonical RFC 3339 spelling of start_ns/end_ns). flags: 1 synthetic id,
--   2 malformed, 4 invalid (invalid_usage whatever its start).
-- usage_rollups: per (UTC day of start, key, invalid) the exact sum of the quantities
--   (plain decimal text, every digit kept) and the number of rows, maintained in the
--   ingest transaction and corrected when a record is replaced.
-- usage_batches gains the seq span of the rows it wrote and how many had no start.
-- The old table is renamed; `stackbill migrate` moves its rows (SqlStore::convert_legacy_usage).
CREATE TABLE usage_keys (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  digest CHAR(64) NOT NULL,
  subscription VARCHAR(191) NULL,
  meter VARCHAR(191) NULL,
  sku VARCHAR(191) NULL,
  resource VARCHAR(1024) NULL,
  UNIQUE KEY ux_usage_keys_digest (digest),
  KEY ix_usage_keys_subscription (subscription)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE usage_rows (
  seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id VARCHAR(191) NOT NULL,
  batch_id INT NOT NULL,
  key_id INT NOT NULL,
  start_ns BIGINT NULL,
  end_ns BIGINT NULL,
  quantity VARCHAR(128) NULL,
  start_text VARCHAR(64) NULL,
  end_text VARCHAR(64) NULL,
  flags SMALLINT NOT NULL,
  UNIQUE KEY ux_usage_rows_id (id),
  KEY ix_usage_rows_start (start_ns)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE usage_rollups (
  day BIGINT NOT NULL,
  key_id INT NOT NULL,
  invalid SMALLINT NOT NULL,
  quantity VARCHAR(128) NOT NULL,
  records BIGINT NOT NULL,
  PRIMARY KEY (day, key_id, invalid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE usage_batches ADD COLUMN first_seq BIGINT NULL;
ALTER TABLE usage_batches ADD COLUMN last_seq BIGINT NULL;
ALTER TABLE usage_batches ADD COLUMN unstarted_rows BIGINT NOT NULL DEFAULT 0;

RENAME TABLE usage_records TO usage_legacy;
