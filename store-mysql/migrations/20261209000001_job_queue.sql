-- The job queue: a job is claimed from this table by a conditional update (never by a
-- lock), so that of several server processes exactly one runs it, on one database or a
-- Galera cluster whose row locks are per node. `fence` grows on every claim: a process
-- whose lease ran out can no longer renew or finish the job. Times are Unix milliseconds.
ALTER TABLE jobs
  ADD COLUMN run_key VARCHAR(190) NULL,
  ADD COLUMN params MEDIUMTEXT NULL,
  ADD COLUMN requested_by VARCHAR(255) NULL,
  ADD COLUMN created_at BIGINT NULL,
  ADD COLUMN due_at BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN owner VARCHAR(128) NULL,
  ADD COLUMN lease_until BIGINT NULL,
  ADD COLUMN heartbeat_at BIGINT NULL,
  ADD COLUMN fence BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN first_claimed_at BIGINT NULL,
  ADD COLUMN finished_at BIGINT NULL,
  ADD COLUMN cancel_requested BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN result MEDIUMTEXT NULL,
  ADD UNIQUE KEY ux_job_run (kind, run_key),
  ADD KEY ix_job_due (status, due_at);

-- Where each schedule stands: the last slot it enqueued (Unix milliseconds).
CREATE TABLE schedules (
  name VARCHAR(190) NOT NULL PRIMARY KEY,
  last_slot BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
