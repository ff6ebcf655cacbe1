-- +goose Up
-- watchdog_state is the watchdog's memory, one row per target (and per heartbeat
-- source): a JSON document the watchdog owns. It is written in the same transaction as
-- the events it implies, so a restart neither repeats an event nor misses one.
CREATE TABLE watchdog_state (
    key        TEXT    PRIMARY KEY,  -- "prometheus/prom-main", "heartbeat/replica-a"
    state      BLOB    NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- heartbeats record when each source last sent the always-firing Watchdog alert.
CREATE TABLE heartbeats (
    source     TEXT    PRIMARY KEY,
    last_seen  INTEGER NOT NULL      -- unix milliseconds
) WITHOUT ROWID;

-- +goose Down
DROP TABLE heartbeats;
DROP TABLE watchdog_state;
