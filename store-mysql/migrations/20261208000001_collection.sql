-- Usage collection from Azure Stack Hub regions: where each region's run stands (so an
-- interrupted run resumes at the page after the last one stored), and the rows a region
-- sent that could not be read, kept verbatim with the reason instead of being dropped.

CREATE TABLE collection_state (
  region_id VARCHAR(191) NOT NULL PRIMARY KEY,
  document LONGTEXT NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE rejected_usage (
  id CHAR(64) NOT NULL PRIMARY KEY,
  region_id VARCHAR(191) NOT NULL,
  window_start BIGINT NOT NULL,
  window_end BIGINT NOT NULL,
  reason TEXT NOT NULL,
  raw LONGTEXT NOT NULL,
  received_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_rejected_region (region_id, window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Leases: a named piece of work (a region's scheduled collection) held by one process
-- until it expires; taken by a conditional update, so two processes never both hold it.
CREATE TABLE leases (
  name VARCHAR(191) NOT NULL PRIMARY KEY,
  owner VARCHAR(191) NOT NULL,
  expires_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A plan names the Azure Stack Hub offer its subscriptions are created from on a stamp.
ALTER TABLE plans ADD COLUMN offer_id VARCHAR(500) NULL;

-- Alerts: one row per occurrence of a condition (a region unreachable, an unknown meter),
-- raised once while the condition holds (`open_key` is unique while it is open), cleared
-- when it clears, acknowledged by a person.
CREATE TABLE alerts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  condition_key VARCHAR(191) NOT NULL,
  open_key VARCHAR(191) NULL,
  kind VARCHAR(100) NOT NULL,
  subject VARCHAR(191) NOT NULL,
  severity VARCHAR(20) NOT NULL,
  message TEXT NOT NULL,
  raised_at VARCHAR(40) NOT NULL,
  last_seen_at VARCHAR(40) NOT NULL,
  occurrences BIGINT NOT NULL DEFAULT 1,
  cleared_at VARCHAR(40) NULL,
  acknowledged_by VARCHAR(320) NULL,
  acknowledged_at VARCHAR(40) NULL,
  UNIQUE KEY ux_alerts_open (open_key),
  KEY ix_alerts_key (condition_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
