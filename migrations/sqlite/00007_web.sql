-- +goose Up
-- sessions are console logins: the SHA-256 of the cookie's random id (a copy of the
-- database gives nobody a session), the user, the session's CSRF token, and when it ends.
-- They live in the store so that a restart, or another replica, keeps them.
CREATE TABLE sessions (
    id_hash    TEXT    PRIMARY KEY,
    username   TEXT    NOT NULL,
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- audit records every action taken through the console or the API: who, in which role,
-- from which address, what, on what, and how it ended. Kept for global.retention.
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    role   TEXT    NOT NULL,
    source TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    result TEXT    NOT NULL
);
CREATE INDEX audit_at ON audit (at);

-- +goose Down
DROP TABLE audit;
DROP TABLE sessions;
