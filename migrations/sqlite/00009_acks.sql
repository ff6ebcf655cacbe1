-- +goose Up
-- acks are the acknowledged alert episodes (an alert's fingerprint and its startsAt, in
-- nanoseconds as claims hold it): no repeat notification for them, at any receiver, until
-- they resolve or a new episode starts. Who, when, why, and through what (console, API,
-- CLI, a message's link).
CREATE TABLE acks (
    fingerprint TEXT    NOT NULL,
    starts_at   INTEGER NOT NULL,
    author      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    comment     TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    PRIMARY KEY (fingerprint, starts_at)
) WITHOUT ROWID;
-- The acknowledgements a notification reports (a resolution says who had it): JSON,
-- fingerprint to ack; NULL for none, as almost always.
ALTER TABLE notifications ADD COLUMN acks TEXT;

-- +goose Down
ALTER TABLE notifications DROP COLUMN acks;
DROP TABLE acks;
