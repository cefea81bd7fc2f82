-- Usage collection from Azure Stack Hub regions: where each region's run stands (so an
-- interrupted run resumes at the page after the last one stored), and the rows a region
-- sent that could not be read, kept verbatim with the reason instead of being dropped.

CREATE TABLE collection_state (
  region_id TEXT NOT NULL PRIMARY KEY,
  document TEXT NOT NULL,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE rejected_usage (
  id TEXT NOT NULL PRIMARY KEY,
  region_id TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  reason TEXT NOT NULL,
  raw TEXT NOT NULL,
  received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX ix_rejected_region ON rejected_usage (region_id, window_start);

-- Leases: a named piece of work (a region's scheduled collection) held by one process
-- until it expires; taken by a conditional update, so two processes never both hold it.
CREATE TABLE leases (
  name TEXT NOT NULL PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);

-- A plan names the Azure Stack Hub offer its subscriptions are created from on a stamp.
ALTER TABLE plans ADD COLUMN offer_id TEXT NULL;

-- Alerts: one row per occurrence of a condition (a region unreachable, an unknown meter),
-- raised once while the condition holds (`open_key` is unique while it is open), cleared
-- when it clears, acknowledged by a person.
CREATE TABLE alerts (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  condition_key TEXT NOT NULL,
  open_key TEXT NULL UNIQUE,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  severity TEXT NOT NULL,
  message TEXT NOT NULL,
  raised_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  occurrences INTEGER NOT NULL DEFAULT 1,
  cleared_at TEXT NULL,
  acknowledged_by TEXT NULL,
  acknowledged_at TEXT NULL
);
CREATE INDEX ix_alerts_key ON alerts (condition_key);
