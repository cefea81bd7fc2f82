-- Invariants of billing held by the database, and what late-usage detection needs.
--
-- 1. At most one invoice that is not void per (tenant, period): a preview and an issued
--    invoice can never coexist, even when `bill` and `issue` race on two processes. MySQL
--    has no partial index, so a stored generated column holds the tenant (NULL when void,
--    and NULLs never collide in a unique index).
-- 2. Usage batches get a commit sequence from one counter row, taken last in the ingest
--    transaction: a batch whose seq is ≤ the counter a billing run read was committed
--    before that run, so an invoice can record exactly which usage it saw (usage_seq).
-- 3. Each batch records the span of its rows' starts, so late usage for an issued period
--    is found from batch rows, without scanning the period's usage.

DELETE p FROM invoices p JOIN invoices o
  ON o.tenant_id = p.tenant_id AND o.billing_period = p.billing_period
 WHERE p.status = 'preview' AND o.status IN ('issued', 'paid');
DELETE p FROM invoices p JOIN invoices o
  ON o.tenant_id = p.tenant_id AND o.billing_period = p.billing_period
 WHERE p.status = 'preview' AND o.status = 'preview' AND o.id > p.id;
ALTER TABLE invoices
  ADD COLUMN live_tenant VARCHAR(191) AS (IF(status <> 'void', tenant_id, NULL)) STORED,
  ADD UNIQUE KEY ux_invoice_live (live_tenant, billing_period),
  ADD COLUMN usage_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE usage_counter (
  id BIGINT NOT NULL PRIMARY KEY,
  value BIGINT NOT NULL
) ENGINE=InnoDB;
ALTER TABLE usage_batches
  ADD COLUMN seq BIGINT NULL,
  ADD COLUMN min_start_ns BIGINT NULL,
  ADD COLUMN max_start_ns BIGINT NULL,
  ADD KEY ix_batch_seq (seq);
UPDATE usage_batches b LEFT JOIN (
    SELECT batch_id, MIN(start_ns) AS lo, MAX(start_ns) AS hi FROM usage_records GROUP BY batch_id
  ) r ON r.batch_id = b.id
  SET b.seq = b.id, b.min_start_ns = r.lo, b.max_start_ns = r.hi;
INSERT INTO usage_counter (id, value) SELECT 1, COALESCE(MAX(id), 0) FROM usage_batches;

-- A cancelled or closed subscription is billed until this day (exclusive, local to its
-- tenant); usage after it is reported unbilled as inactive_subscription.
ALTER TABLE subscriptions ADD COLUMN ends_on CHAR(10) NULL;
