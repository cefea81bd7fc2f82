-- Invariants of billing held by the database, and what late-usage detection needs.
--
-- 1. At most one invoice that is not void per (tenant, period): a preview and an issued
--    invoice can never coexist, even when `bill` and `issue` race on two processes.
-- 2. Usage batches get a commit sequence from one counter row, taken last in the ingest
--    transaction: a batch whose seq is ≤ the counter a billing run read was committed
--    before that run, so an invoice can record exactly which usage it saw (usage_seq).
-- 3. Each batch records the span of its rows' starts, so late usage for an issued period
--    is found from batch rows, without scanning the period's usage.

-- A preview that shares its (tenant, period) with an issued or paid invoice is stale.
DELETE FROM invoices WHERE status = 'preview' AND EXISTS (
  SELECT 1 FROM invoices o
  WHERE o.tenant_id = invoices.tenant_id AND o.billing_period = invoices.billing_period
    AND o.status IN ('issued', 'paid'));
-- Of several previews of one (tenant, period), keep the newest.
DELETE FROM invoices WHERE status = 'preview' AND id < (
  SELECT MAX(o.id) FROM invoices o
  WHERE o.tenant_id = invoices.tenant_id AND o.billing_period = invoices.billing_period
    AND o.status = 'preview');
CREATE UNIQUE INDEX ux_invoice_live ON invoices (tenant_id, billing_period)
  WHERE status <> 'void';

CREATE TABLE usage_counter (
  id INTEGER NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
);
ALTER TABLE usage_batches ADD COLUMN seq INTEGER NULL;
ALTER TABLE usage_batches ADD COLUMN min_start_ns INTEGER NULL;
ALTER TABLE usage_batches ADD COLUMN max_start_ns INTEGER NULL;
UPDATE usage_batches SET seq = id,
  min_start_ns = (SELECT MIN(start_ns) FROM usage_records r WHERE r.batch_id = usage_batches.id),
  max_start_ns = (SELECT MAX(start_ns) FROM usage_records r WHERE r.batch_id = usage_batches.id);
INSERT INTO usage_counter (id, value) VALUES (1, (SELECT COALESCE(MAX(id), 0) FROM usage_batches));
CREATE INDEX ix_batch_seq ON usage_batches (seq);

-- The usage sequence an invoice was rated with; 0 (before this migration) means unknown,
-- so every later batch counts as late for it (a re-rating that finds no change is free).
ALTER TABLE invoices ADD COLUMN usage_seq INTEGER NOT NULL DEFAULT 0;

-- A cancelled or closed subscription is billed until this day (exclusive, local to its
-- tenant); usage after it is reported unbilled as inactive_subscription.
ALTER TABLE subscriptions ADD COLUMN ends_on TEXT NULL;
