-- Token caches in every controller must hear of a revocation made by any
-- of them (or by `bumpserve user revoke`): one counter row, bumped in the
-- revoking transaction, so the version moves exactly when the revocation
-- commits. Reading it is one primary-key lookup per request.
CREATE TABLE auth_version (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint  NOT NULL
);
INSERT INTO auth_version (id, version) VALUES (1, 0);
