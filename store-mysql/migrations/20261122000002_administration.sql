-- What the manual administers beyond billing: regions, meters, plans, users and their
-- roles, System Settings groups, jobs. Secrets are never stored in clear: regions keep a
-- credential reference, users an argon2id hash and a sealed MFA secret.

CREATE TABLE regions (
  id VARCHAR(191) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  time_zone VARCHAR(64) NOT NULL,
  admin_endpoint VARCHAR(1024) NOT NULL,
  collection_window_hours BIGINT NOT NULL DEFAULT 24,
  credential_ref VARCHAR(1024) NULL,
  details LONGTEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE meters (
  id VARCHAR(191) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  unit VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE plans (
  id VARCHAR(191) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  quotas LONGTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE users (
  id VARCHAR(191) NOT NULL PRIMARY KEY,
  email VARCHAR(320) NOT NULL,
  email_key VARCHAR(320) NOT NULL,
  first_name VARCHAR(255) NOT NULL,
  last_name VARCHAR(255) NOT NULL,
  phone VARCHAR(64) NULL,
  password_hash VARCHAR(255) NULL,
  mfa_secret_sealed VARCHAR(1024) NULL,
  mfa_required BIGINT NOT NULL DEFAULT 0,
  federated_only BIGINT NOT NULL DEFAULT 0,
  disabled BIGINT NOT NULL DEFAULT 0,
  locked_out BIGINT NOT NULL DEFAULT 0,
  activated BIGINT NOT NULL DEFAULT 0,
  failed_logins BIGINT NOT NULL DEFAULT 0,
  UNIQUE KEY ux_user_email (email_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE role_assignments (
  user_id VARCHAR(191) NOT NULL,
  role VARCHAR(64) NOT NULL,
  distributor_id VARCHAR(191) NOT NULL DEFAULT '',
  partner_id VARCHAR(191) NOT NULL DEFAULT '',
  tenant_id VARCHAR(191) NOT NULL DEFAULT '',
  -- The node as one short key (a hash of its ids), so the key fits InnoDB's limit.
  node_key CHAR(32) NOT NULL,
  PRIMARY KEY (user_id, role, node_key),
  CONSTRAINT fk_role_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE settings (
  settings_group VARCHAR(64) NOT NULL PRIMARY KEY,
  value LONGTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE jobs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  token VARCHAR(64) NOT NULL,
  kind VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  progress BIGINT NOT NULL DEFAULT 0,
  message VARCHAR(2048) NOT NULL DEFAULT '',
  started_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY ux_job_token (token)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
