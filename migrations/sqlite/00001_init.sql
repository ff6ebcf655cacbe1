-- +goose Up
-- notifications is the durable outbox and the notification history in one table:
-- a row is born 'pending' in the webhook's transaction and ends 'sent' or 'dead'.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    receiver        TEXT    NOT NULL,
    route           TEXT    NOT NULL,
    hostgroup       TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    alertnames      TEXT    NOT NULL,  -- comma-separated, for listings
    alert_count     INTEGER NOT NULL,
    payload         BLOB    NOT NULL,  -- JSON of the Alertmanager template.Data to render
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,  -- unix milliseconds, like every time column here
    next_attempt_at INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX notifications_due ON notifications (receiver, next_attempt_at) WHERE state = 'pending';
-- Per (receiver, hostgroup) delivery order: see store.Enqueue and MarkRetry.
CREATE INDEX notifications_queue ON notifications (receiver, hostgroup, next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_state ON notifications (state, id);
CREATE INDEX notifications_updated ON notifications (updated_at);

-- claims hold the dedupe state per (receiver, alert fingerprint): what was last claimed
-- for delivery, for which episode (starts_at), when, and by which notification.
CREATE TABLE claims (
    receiver        TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at       INTEGER NOT NULL,  -- unix nanoseconds: episodes are told apart exactly
    notified_at     INTEGER NOT NULL,
    notification_id INTEGER NOT NULL,  -- 0 when the state changed without a notification
    PRIMARY KEY (receiver, fingerprint)
) WITHOUT ROWID;
CREATE INDEX claims_notification ON claims (notification_id);
CREATE INDEX claims_notified ON claims (notified_at);

-- +goose Down
DROP TABLE claims;
DROP TABLE notifications;
