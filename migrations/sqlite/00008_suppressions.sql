-- +goose Up
-- suppressions are the copies of a notification's alerts that dedupe did not send again:
-- per notification, Alertmanager (its external URL) and reason, how many webhooks and
-- alerts, first and last. A notification's timeline shows them. One row per pair member,
-- not per copy: a repeat adds to its counts.
CREATE TABLE suppressions (
    notification_id INTEGER NOT NULL,
    source          TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    first_at        INTEGER NOT NULL,
    last_at         INTEGER NOT NULL,
    copies          INTEGER NOT NULL,
    alerts          INTEGER NOT NULL,
    PRIMARY KEY (notification_id, source, reason)
) WITHOUT ROWID;

-- The console's last errors are the newest failed attempts.
CREATE INDEX attempts_at ON attempts (at);

-- +goose Down
DROP INDEX attempts_at;
DROP TABLE suppressions;
