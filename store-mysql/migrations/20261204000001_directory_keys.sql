-- Uniqueness the API promises, held by the database rather than by a snapshot one
-- process read: two replicas creating "Ten-1" and "ten-1" at once cannot both succeed.
--
-- 1. Node, region and price-list ids are unique case-insensitively within their kind (a
--    lower-cased URL names exactly one object). The tables use a binary collation, and
--    MariaDB has no index on an expression, so a stored generated column holds the key.
-- 2. At most one price list per (scope, first day): the engine refuses a run in which two
--    lists of one scope come into force on the same day, so such a pair is never stored.
ALTER TABLE distributors
  ADD COLUMN id_key VARCHAR(191) AS (LOWER(id)) STORED, ADD UNIQUE KEY ux_distributor_key (id_key);
ALTER TABLE partners
  ADD COLUMN id_key VARCHAR(191) AS (LOWER(id)) STORED, ADD UNIQUE KEY ux_partner_key (id_key);
ALTER TABLE tenants
  ADD COLUMN id_key VARCHAR(191) AS (LOWER(id)) STORED, ADD UNIQUE KEY ux_tenant_key (id_key);
ALTER TABLE subscriptions
  ADD COLUMN id_key VARCHAR(191) AS (LOWER(id)) STORED, ADD UNIQUE KEY ux_subscription_key (id_key);
ALTER TABLE regions
  ADD COLUMN id_key VARCHAR(191) AS (LOWER(id)) STORED, ADD UNIQUE KEY ux_region_key (id_key);
ALTER TABLE price_lists
  ADD COLUMN id_key VARCHAR(191) AS (LOWER(id)) STORED, ADD UNIQUE KEY ux_price_list_key (id_key),
  ADD COLUMN scope_key VARCHAR(191) AS (LOWER(scope_id)) STORED,
  ADD UNIQUE KEY ux_price_list_start (scope_kind, scope_key, effective_from);
