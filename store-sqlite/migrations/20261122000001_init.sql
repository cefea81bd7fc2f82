-- StackBill schema for SQLite, the embedded default. Decimals are TEXT, exactly as
-- reported or priced (the `quantity`, `rate` and `total` columns hold the normalised
-- value for SQL reporting). No REAL anywhere.

CREATE TABLE platform_settings (
  id INTEGER NOT NULL PRIMARY KEY,
  currency TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  monthly_variable_pricing INTEGER NOT NULL DEFAULT 0,
  rounding TEXT NOT NULL DEFAULT 'half_even',
  payment_terms_days INTEGER NOT NULL DEFAULT 30
);

CREATE TABLE distributors (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  currency TEXT NULL,
  commission TEXT NULL,
  partner_commission TEXT NULL,
  details TEXT NULL
);

CREATE TABLE partners (
  id TEXT NOT NULL PRIMARY KEY,
  distributor_id TEXT NOT NULL REFERENCES distributors (id),
  name TEXT NOT NULL,
  currency TEXT NULL,
  commission TEXT NULL,
  details TEXT NULL
);

CREATE TABLE tenants (
  id TEXT NOT NULL PRIMARY KEY,
  partner_id TEXT NOT NULL REFERENCES partners (id),
  name TEXT NOT NULL,
  currency TEXT NULL,
  time_zone TEXT NULL,
  tax_percent TEXT NULL,
  payment_terms_days INTEGER NULL,
  details TEXT NULL
);

CREATE TABLE subscriptions (
  id TEXT NOT NULL PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  region_id TEXT NOT NULL,
  name TEXT NOT NULL,
  plan_id TEXT NULL,
  status TEXT NOT NULL DEFAULT 'active'
);

CREATE TABLE price_lists (
  id TEXT NOT NULL PRIMARY KEY,
  scope_kind TEXT NOT NULL,
  scope_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  effective_from TEXT NOT NULL,
  effective_to TEXT NULL,
  items TEXT NOT NULL
);
CREATE INDEX ix_price_list_scope ON price_lists (scope_kind, scope_id);

CREATE TABLE fx_rates (
  seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  from_ccy TEXT NOT NULL,
  to_ccy TEXT NOT NULL,
  rate_text TEXT NOT NULL,
  rate TEXT NULL,
  as_of TEXT NOT NULL
);

CREATE TABLE usage_batches (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  token TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  new_rows INTEGER NOT NULL DEFAULT 0,
  duplicate_rows INTEGER NOT NULL DEFAULT 0,
  replaced_rows INTEGER NOT NULL DEFAULT 0,
  imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX ix_batch_window ON usage_batches (window_start, window_end);

CREATE TABLE usage_records (
  id TEXT NOT NULL PRIMARY KEY,
  batch_id INTEGER NOT NULL REFERENCES usage_batches (id),
  synthetic INTEGER NOT NULL DEFAULT 0,
  subscription TEXT NULL,
  meter TEXT NULL,
  sku TEXT NULL,
  resource TEXT NULL,
  start_text TEXT NULL,
  end_text TEXT NULL,
  quantity_text TEXT NULL,
  quantity TEXT NULL,
  start_ns INTEGER NULL,
  end_ns INTEGER NULL,
  malformed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_usage_start ON usage_records (start_ns);
CREATE INDEX ix_usage_batch ON usage_records (batch_id);
CREATE INDEX ix_usage_subscription ON usage_records (subscription, start_ns);

CREATE TABLE invoices (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  billing_period TEXT NOT NULL,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  status TEXT NOT NULL CHECK (status IN ('preview', 'issued', 'paid', 'void')),
  number TEXT NULL UNIQUE,
  issue_date TEXT NULL,
  due_date TEXT NULL,
  currency TEXT NOT NULL,
  total_text TEXT NOT NULL,
  total TEXT NULL,
  document TEXT NOT NULL
);
CREATE INDEX ix_invoice_period ON invoices (billing_period, tenant_id);

CREATE TABLE invoice_counters (
  invoice_year INTEGER NOT NULL PRIMARY KEY,
  next_number INTEGER NOT NULL
);

CREATE TABLE commissions (
  billing_period TEXT NOT NULL,
  party_kind TEXT NOT NULL,
  party_id TEXT NOT NULL,
  document TEXT NOT NULL,
  PRIMARY KEY (billing_period, party_kind, party_id)
);

CREATE TABLE audit_log (
  seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  at_time TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  before_json TEXT NULL,
  after_json TEXT NULL
);

-- Issued invoices are immutable, enforced by the database: once out of preview only the
-- status may move (issued -> paid | void), and nothing may be deleted.
CREATE TRIGGER invoices_immutable_update BEFORE UPDATE ON invoices
  WHEN OLD.status <> 'preview' AND NOT (
       OLD.status = 'issued' AND NEW.status IN ('paid', 'void')
       AND NEW.number IS OLD.number AND NEW.document = OLD.document
       AND NEW.total_text = OLD.total_text AND NEW.issue_date IS OLD.issue_date
       AND NEW.due_date IS OLD.due_date AND NEW.tenant_id = OLD.tenant_id
       AND NEW.billing_period = OLD.billing_period AND NEW.currency = OLD.currency
       AND NEW.total IS OLD.total AND NEW.id = OLD.id)
BEGIN
  SELECT RAISE(ABORT, 'issued invoices are immutable');
END;

CREATE TRIGGER invoices_immutable_delete BEFORE DELETE ON invoices
  WHEN OLD.status <> 'preview'
BEGIN
  SELECT RAISE(ABORT, 'issued invoices cannot be deleted');
END;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only');
END;
