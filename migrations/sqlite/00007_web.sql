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

-- attempts are the failed attempts of a delivery (retried, throttled or the last, dead):
-- its timeline in the console. A successful attempt is the notification's own sent_at and
-- sent_duration_ms, so that the common case writes nothing more.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    outcome         TEXT    NOT NULL,
    error           TEXT    NOT NULL
);
CREATE INDEX attempts_notification ON attempts (notification_id);
ALTER TABLE notifications ADD COLUMN sent_duration_ms INTEGER;
-- A dead notification retried from the console points at the new one; one discarded
-- leaves the dead letters.
ALTER TABLE notifications ADD COLUMN retried_as INTEGER;
ALTER TABLE notifications ADD COLUMN discarded_at INTEGER;

-- +goose Down
ALTER TABLE notifications DROP COLUMN discarded_at;
ALTER TABLE notifications DROP COLUMN retried_as;
ALTER TABLE notifications DROP COLUMN sent_duration_ms;
DROP TABLE attempts;
DROP TABLE audit;
DROP TABLE sessions;
