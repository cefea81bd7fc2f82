-- What the manual administers beyond billing: regions, meters, plans, users and their
-- roles, System Settings groups, jobs. Secrets are never stored in clear: regions keep a
-- credential reference, users an argon2id hash and a sealed MFA secret.

CREATE TABLE regions (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  admin_endpoint TEXT NOT NULL,
  collection_window_hours INTEGER NOT NULL DEFAULT 24,
  credential_ref TEXT NULL,
  details TEXT NULL
);

CREATE TABLE meters (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  unit TEXT NOT NULL
);

CREATE TABLE plans (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  quotas TEXT NOT NULL
);

CREATE TABLE users (
  id TEXT NOT NULL PRIMARY KEY,
  email TEXT NOT NULL,
  email_key TEXT NOT NULL UNIQUE,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  phone TEXT NULL,
  password_hash TEXT NULL,
  mfa_secret_sealed TEXT NULL,
  mfa_required INTEGER NOT NULL DEFAULT 0,
  federated_only INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  locked_out INTEGER NOT NULL DEFAULT 0,
  activated INTEGER NOT NULL DEFAULT 0,
  failed_logins INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE role_assignments (
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  distributor_id TEXT NOT NULL DEFAULT '',
  partner_id TEXT NOT NULL DEFAULT '',
  tenant_id TEXT NOT NULL DEFAULT '',
  node_key TEXT NOT NULL,
  PRIMARY KEY (user_id, role, node_key)
);

CREATE TABLE settings (
  settings_group TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE jobs (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  token TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  progress INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
