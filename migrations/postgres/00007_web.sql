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

-- +goose Down
DROP TABLE audit;
DROP TABLE sessions;
