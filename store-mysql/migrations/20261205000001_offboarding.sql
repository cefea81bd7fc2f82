-- Offboarding: a tenant with usage or invoices cannot be deleted (its history must stay),
-- so it is closed instead. `closed_on` is the first day not billed (YYYY-MM-DD, in the
-- tenant's zone); NULL while the tenant is active. Closing cancels its subscriptions from
-- the same day, in the same transaction (`Store::close_tenant`).
ALTER TABLE tenants ADD COLUMN closed_on CHAR(10) NULL;
