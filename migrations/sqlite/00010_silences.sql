-- +goose Up
-- silences are the silences made through alertrouter. Alertmanager stays their truth:
-- each is kept on every configured Alertmanager (silence_copies). matchers is the
-- canonical text of the matchers (sorted), so that the same matchers find the one active
-- silence to extend. updated_at is its version: a copy that has an older one is synced.
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    matchers   TEXT    NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    comment    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expired_at INTEGER,
    -- The notice that it ended has been enqueued.
    noticed    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX silences_matchers ON silences (matchers);
CREATE INDEX silences_ends ON silences (ends_at);

-- silence_copies are a silence on one Alertmanager: its id there, the version it has,
-- and, while it is behind or failing, when to try again and why it failed.
CREATE TABLE silence_copies (
    silence_id      INTEGER NOT NULL,
    alertmanager    TEXT    NOT NULL,
    remote_id       TEXT    NOT NULL DEFAULT '',
    version         INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER NOT NULL,
    PRIMARY KEY (silence_id, alertmanager)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE silence_copies;
DROP TABLE silences;
