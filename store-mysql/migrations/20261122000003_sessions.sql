-- Sign-in state: a forced password change, activation codes (hashed), the last TOTP step
-- used (each code works once), and refresh tokens (hashed, one family per sign-in,
-- rotated on every use).

ALTER TABLE users
  ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN activation_code_hash VARCHAR(255) NULL,
  ADD COLUMN mfa_last_step BIGINT NULL;

CREATE TABLE refresh_tokens (
  token_hash CHAR(64) NOT NULL PRIMARY KEY,
  family CHAR(64) NOT NULL,
  user_id VARCHAR(191) NOT NULL,
  expires_at BIGINT NOT NULL,
  state VARCHAR(16) NOT NULL,
  KEY ix_refresh_family (family),
  KEY ix_refresh_user (user_id),
  CONSTRAINT fk_refresh_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
