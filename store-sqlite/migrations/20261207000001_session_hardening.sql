-- Session hardening: a per-user session epoch (bumped by a password change, an MFA reset,
-- disabling or a role removal, so access tokens issued before stop working at once), an
-- absolute lifetime for each sign-in's refresh-token family, sign-in failures counted per
-- account and per client address (keyed hashes) with exponential back-off instead of a
-- permanent lock, and federated identities bound to (issuer, subject).

ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN family_expires_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE sign_in_failures (
  throttle_key TEXT NOT NULL PRIMARY KEY,
  failures INTEGER NOT NULL,
  last_failure INTEGER NOT NULL,
  blocked_until INTEGER NOT NULL
);

CREATE TABLE federated_identities (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  linked_at TEXT NOT NULL,
  PRIMARY KEY (issuer, subject)
);
CREATE INDEX ix_federated_user ON federated_identities (user_id);
