-- Sign-in state: a forced password change, activation codes (hashed), the last TOTP step
-- used (each code works once), and refresh tokens (hashed, one family per sign-in,
-- rotated on every use).

ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN activation_code_hash TEXT NULL;
ALTER TABLE users ADD COLUMN mfa_last_step INTEGER NULL;

CREATE TABLE refresh_tokens (
  token_hash TEXT NOT NULL PRIMARY KEY,
  family TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL
);
CREATE INDEX ix_refresh_family ON refresh_tokens (family);
CREATE INDEX ix_refresh_user ON refresh_tokens (user_id);
