-- +goose Up
-- As sqlite/00007_web.sql: console sessions and the audit log.
CREATE TABLE sessions (
    id_hash    TEXT   PRIMARY KEY,
    username   TEXT   NOT NULL,
    csrf       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE audit (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT   NOT NULL,
    role   TEXT   NOT NULL,
    source TEXT   NOT NULL,
    action TEXT   NOT NULL,
    target TEXT   NOT NULL,
    result TEXT   NOT NULL
);
CREATE INDEX audit_at ON audit (at);

-- attempts are the failed attempts of a delivery (retried, throttled or the last, dead):
-- its timeline in the console. A successful attempt is the notification's own sent_at and
-- sent_duration_ms, so that the common case writes nothing more.
CREATE TABLE attempts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    duration_ms     BIGINT NOT NULL,
    outcome         TEXT    NOT NULL,
    error           TEXT    NOT NULL
);
CREATE INDEX attempts_notification ON attempts (notification_id);
ALTER TABLE notifications ADD COLUMN sent_duration_ms BIGINT;
-- A dead notification retried from the console points at the new one; one discarded
-- leaves the dead letters.
ALTER TABLE notifications ADD COLUMN retried_as BIGINT;
ALTER TABLE notifications ADD COLUMN discarded_at BIGINT;

-- +goose Down
ALTER TABLE notifications DROP COLUMN discarded_at;
ALTER TABLE notifications DROP COLUMN retried_as;
ALTER TABLE notifications DROP COLUMN sent_duration_ms;
DROP TABLE attempts;
DROP TABLE audit;
DROP TABLE sessions;
