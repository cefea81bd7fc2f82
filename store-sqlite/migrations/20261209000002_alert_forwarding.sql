-- Forwarding alerts to the operator's monitoring: whether an alert's raising and its
-- clearing have been handed to the forwarding jobs (one job per target and event,
-- queued once by its run key), so that a restart neither loses nor repeats an event.
ALTER TABLE alerts ADD COLUMN forwarded_raise INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN forwarded_clear INTEGER NOT NULL DEFAULT 0;
