-- A plan's quota alerts: at what percent of a quota its subscriptions are warned, and
-- which meter (in unit-hours) measures each quota. JSON {"percent": 80, "meters":
-- {"cores": "<meter id>"}}; NULL for a plan without alerts.
ALTER TABLE plans ADD COLUMN quota_alerts TEXT NULL;
