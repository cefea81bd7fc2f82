-- The job queue: a job is claimed from this table by a conditional update (never by a
-- lock), so that of several server processes exactly one runs it, on one database or a
-- cluster whose row locks are per node. `fence` grows on every claim: a process whose
-- lease ran out can no longer renew or finish the job. Times are Unix milliseconds.
ALTER TABLE jobs ADD COLUMN run_key TEXT NULL;
ALTER TABLE jobs ADD COLUMN params TEXT NULL;
ALTER TABLE jobs ADD COLUMN requested_by TEXT NULL;
ALTER TABLE jobs ADD COLUMN created_at INTEGER NULL;
ALTER TABLE jobs ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN owner TEXT NULL;
ALTER TABLE jobs ADD COLUMN lease_until INTEGER NULL;
ALTER TABLE jobs ADD COLUMN heartbeat_at INTEGER NULL;
ALTER TABLE jobs ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN first_claimed_at INTEGER NULL;
ALTER TABLE jobs ADD COLUMN finished_at INTEGER NULL;
ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN result TEXT NULL;
-- A schedule's slot or a request's idempotency key makes a job exist once.
CREATE UNIQUE INDEX ux_job_run ON jobs (kind, run_key);
CREATE INDEX ix_job_due ON jobs (status, due_at);

-- Where each schedule stands: the last slot it enqueued (Unix milliseconds).
CREATE TABLE schedules (
  name TEXT NOT NULL PRIMARY KEY,
  last_slot INTEGER NOT NULL
);
