-- Failed sign-ins across the platform per minute (Unix minute), whichever process saw
-- them: a spike raises an alert.
CREATE TABLE sign_in_failure_minutes (
  minute BIGINT NOT NULL PRIMARY KEY,
  failures BIGINT NOT NULL
);
