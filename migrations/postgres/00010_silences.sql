-- +goose Up
-- As sqlite/00010_silences.sql: silences, and their copies on each Alertmanager.
CREATE TABLE silences (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    matchers   TEXT   NOT NULL,
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    comment    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expired_at BIGINT,
    noticed    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX silences_matchers ON silences (matchers);
CREATE INDEX silences_ends ON silences (ends_at);

CREATE TABLE silence_copies (
    silence_id      BIGINT NOT NULL,
    alertmanager    TEXT   NOT NULL,
    remote_id       TEXT   NOT NULL DEFAULT '',
    version         BIGINT NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT   NOT NULL DEFAULT '',
    next_attempt_at BIGINT NOT NULL,
    PRIMARY KEY (silence_id, alertmanager)
);

-- +goose Down
DROP TABLE silence_copies;
DROP TABLE silences;
