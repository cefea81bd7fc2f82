-- StackBill schema for MySQL 8 / MariaDB 10.11. Exact decimals are kept twice: as the
-- text that was reported or priced (what the engine reads, never rounded) and as
-- DECIMAL(65,30) for SQL reporting. No FLOAT or DOUBLE anywhere.

CREATE TABLE platform_settings (
  id BIGINT NOT NULL PRIMARY KEY,
  currency CHAR(3) NOT NULL,
  time_zone VARCHAR(64) NOT NULL,
  monthly_variable_pricing BIGINT NOT NULL DEFAULT 0,
  rounding VARCHAR(16) NOT NULL DEFAULT 'half_even',
  payment_terms_days BIGINT NOT NULL DEFAULT 30
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE distributors (
  id VARCHAR(191) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  currency CHAR(3) NULL,
  commission LONGTEXT NULL,
  partner_commission LONGTEXT NULL,
  details LONGTEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE partners (
  id VARCHAR(191) NOT NULL PRIMARY KEY,
  distributor_id VARCHAR(191) NOT NULL,
  name VARCHAR(255) NOT NULL,
  currency CHAR(3) NULL,
  commission LONGTEXT NULL,
  details LONGTEXT NULL,
  CONSTRAINT fk_partner_distributor FOREIGN KEY (distributor_id) REFERENCES distributors (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE tenants (
  id VARCHAR(191) NOT NULL PRIMARY KEY,
  partner_id VARCHAR(191) NOT NULL,
  name VARCHAR(255) NOT NULL,
  currency CHAR(3) NULL,
  time_zone VARCHAR(64) NULL,
  tax_percent VARCHAR(64) NULL,
  payment_terms_days BIGINT NULL,
  details LONGTEXT NULL,
  CONSTRAINT fk_tenant_partner FOREIGN KEY (partner_id) REFERENCES partners (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE subscriptions (
  id VARCHAR(191) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(191) NOT NULL,
  region_id VARCHAR(191) NOT NULL,
  name VARCHAR(255) NOT NULL,
  plan_id VARCHAR(191) NULL,
  status VARCHAR(32) NOT NULL DEFAULT 'active',
  CONSTRAINT fk_subscription_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE price_lists (
  id VARCHAR(191) NOT NULL PRIMARY KEY,
  scope_kind VARCHAR(16) NOT NULL,
  scope_id VARCHAR(191) NOT NULL,
  currency CHAR(3) NOT NULL,
  effective_from CHAR(10) NOT NULL,
  effective_to CHAR(10) NULL,
  items LONGTEXT NOT NULL,
  KEY ix_price_list_scope (scope_kind, scope_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE fx_rates (
  seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  from_ccy CHAR(3) NOT NULL,
  to_ccy CHAR(3) NOT NULL,
  rate_text VARCHAR(64) NOT NULL,
  rate DECIMAL(65,30) NULL,
  as_of CHAR(10) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE usage_batches (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  token VARCHAR(64) NOT NULL,
  source VARCHAR(1024) NOT NULL,
  window_start BIGINT NOT NULL,
  window_end BIGINT NOT NULL,
  new_rows BIGINT NOT NULL DEFAULT 0,
  duplicate_rows BIGINT NOT NULL DEFAULT 0,
  replaced_rows BIGINT NOT NULL DEFAULT 0,
  imported_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY ux_batch_token (token),
  KEY ix_batch_window (window_start, window_end)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Clustered on an arrival sequence, not on the (random) record id: rows are appended in
-- order and the id lives in a compact unique index, which keeps bulk ingest sequential.
CREATE TABLE usage_records (
  seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id VARCHAR(191) NOT NULL,
  batch_id BIGINT NOT NULL,
  synthetic BIGINT NOT NULL DEFAULT 0,
  subscription VARCHAR(191) NULL,
  meter VARCHAR(191) NULL,
  sku VARCHAR(191) NULL,
  resource VARCHAR(1024) NULL,
  start_text VARCHAR(64) NULL,
  end_text VARCHAR(64) NULL,
  quantity_text VARCHAR(128) NULL,
  quantity DECIMAL(65,30) NULL,
  start_ns BIGINT NULL,
  end_ns BIGINT NULL,
  malformed BIGINT NOT NULL DEFAULT 0,
  UNIQUE KEY ux_usage_id (id),
  KEY ix_usage_start (start_ns),
  KEY ix_usage_batch (batch_id),
  KEY ix_usage_subscription (subscription, start_ns),
  CONSTRAINT fk_usage_batch FOREIGN KEY (batch_id) REFERENCES usage_batches (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE invoices (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  billing_period CHAR(7) NOT NULL,
  tenant_id VARCHAR(191) NOT NULL,
  status VARCHAR(16) NOT NULL,
  number VARCHAR(32) NULL,
  issue_date CHAR(10) NULL,
  due_date CHAR(10) NULL,
  currency CHAR(3) NOT NULL,
  total_text VARCHAR(64) NOT NULL,
  total DECIMAL(65,30) NULL,
  document LONGTEXT NOT NULL,
  UNIQUE KEY ux_invoice_number (number),
  KEY ix_invoice_period (billing_period, tenant_id),
  CONSTRAINT fk_invoice_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
  CONSTRAINT ck_invoice_status CHECK (status IN ('preview', 'issued', 'paid', 'void'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE invoice_counters (
  invoice_year BIGINT NOT NULL PRIMARY KEY,
  next_number BIGINT NOT NULL
) ENGINE=InnoDB;

CREATE TABLE commissions (
  billing_period CHAR(7) NOT NULL,
  party_kind VARCHAR(16) NOT NULL,
  party_id VARCHAR(191) NOT NULL,
  document LONGTEXT NOT NULL,
  PRIMARY KEY (billing_period, party_kind, party_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_log (
  seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at_time VARCHAR(40) NOT NULL,
  actor VARCHAR(255) NOT NULL,
  action VARCHAR(128) NOT NULL,
  target VARCHAR(1024) NOT NULL,
  before_json LONGTEXT NULL,
  after_json LONGTEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Issued invoices are immutable, enforced here and not only in code: once out of
-- preview, only the status may move (issued -> paid | void), and nothing may be deleted.
CREATE TRIGGER invoices_immutable_update BEFORE UPDATE ON invoices FOR EACH ROW
  IF OLD.status <> 'preview' AND NOT (
       OLD.status = 'issued' AND NEW.status IN ('paid', 'void')
       AND NEW.number <=> OLD.number AND NEW.document = OLD.document
       AND NEW.total_text = OLD.total_text AND NEW.issue_date <=> OLD.issue_date
       AND NEW.due_date <=> OLD.due_date AND NEW.tenant_id = OLD.tenant_id
       AND NEW.billing_period = OLD.billing_period AND NEW.currency = OLD.currency
       AND NEW.total <=> OLD.total AND NEW.id = OLD.id)
  THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'issued invoices are immutable';
  END IF;

CREATE TRIGGER invoices_immutable_delete BEFORE DELETE ON invoices FOR EACH ROW
  IF OLD.status <> 'preview' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'issued invoices cannot be deleted';
  END IF;

-- The audit log is append-only.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the audit log is append-only';

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the audit log is append-only';
