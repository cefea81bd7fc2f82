-- Uniqueness the API promises, held by the database rather than by a snapshot one
-- process read: two replicas creating "Ten-1" and "ten-1" at once cannot both succeed.
--
-- 1. Node, region and price-list ids are unique case-insensitively within their kind (a
--    lower-cased URL names exactly one object).
-- 2. At most one price list per (scope, first day): the engine refuses a run in which two
--    lists of one scope come into force on the same day, so such a pair is never stored.
CREATE UNIQUE INDEX ux_distributor_key ON distributors (lower(id));
CREATE UNIQUE INDEX ux_partner_key ON partners (lower(id));
CREATE UNIQUE INDEX ux_tenant_key ON tenants (lower(id));
CREATE UNIQUE INDEX ux_subscription_key ON subscriptions (lower(id));
CREATE UNIQUE INDEX ux_region_key ON regions (lower(id));
CREATE UNIQUE INDEX ux_price_list_key ON price_lists (lower(id));
CREATE UNIQUE INDEX ux_price_list_start ON price_lists (scope_kind, lower(scope_id), effective_from);
