-- Session hardening: a per-user session epoch (bumped by a password change, an MFA reset,
-- disabling or a role removal, so access tokens issued before stop working at once), an
-- absolute lifetime for each sign-in's refresh-token family, sign-in failures counted per
-- account and per client address (keyed hashes) with exponential back-off instead of a
-- permanent lock, and federated identities bound to (issuer, subject).

ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN family_expires_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE sign_in_failures (
  throttle_key CHAR(64) NOT NULL PRIMARY KEY,
  failures BIGINT NOT NULL,
  last_failure BIGINT NOT NULL,
  blocked_until BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE federated_identities (
  issuer VARCHAR(255) NOT NULL,
  subject VARCHAR(255) NOT NULL,
  user_id VARCHAR(191) NOT NULL,
  linked_at VARCHAR(40) NOT NULL,
  PRIMARY KEY (issuer, subject),
  KEY ix_federated_user (user_id),
  CONSTRAINT fk_federated_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
