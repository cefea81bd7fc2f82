-- One counter every process reads before it trusts its cached hierarchy, settings and
-- resolved callers, and bumps after it changes them: a change made through one server
-- process is seen through every other at its next request.
CREATE TABLE cache_version (
  id INTEGER NOT NULL PRIMARY KEY,
  version BIGINT NOT NULL
);
INSERT INTO cache_version (id, version) VALUES (1, 0);
