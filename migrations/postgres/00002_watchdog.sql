-- +goose Up
-- As sqlite/00002_watchdog.sql.
CREATE TABLE watchdog_state (
    key        TEXT   PRIMARY KEY,
    state      BYTEA  NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE heartbeats (
    source     TEXT   PRIMARY KEY,
    last_seen  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE heartbeats;
DROP TABLE watchdog_state;
