-- +goose Up
-- A webhook's alerts are stored once, in a batch, however many receivers get them; each
-- notification points at its batch and says which of its alerts it carries (alerts: a
-- list of indices such as '0,2,5', or NULL for all). Before, each notification held its
-- own JSON payload, so two receivers stored the same alerts twice.
--
-- body is the encoded batch, in the dispatcher's format (dispatch/batch.go): zstd-compressed
-- JSON, or plain JSON for the payloads of earlier versions, moved here as they were.
CREATE TABLE batches (
    id         INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    body       BLOB    NOT NULL
);
INSERT INTO batches (id, created_at, body) SELECT id, created_at, payload FROM notifications;

-- notifications without payload, rebuilt rather than altered: DROP COLUMN would leave every
-- row's page in place, nearly empty (a 430,000-alert database kept 350 MB of them).
--
-- Indexes that change when a notification is sent cost the commit that records it a page
-- each (a commit writes whole pages to the WAL): state (state, id) served only listings
-- by state, and is now kept for dead notifications alone (listings of pending ones use
-- notifications_due, and of sent ones the primary key); pruning finds old rows by
-- created_at, set once, instead of updated_at (a row is never touched before it is made).
CREATE TABLE notifications_by_batch (
    id              INTEGER PRIMARY KEY,
    receiver        TEXT    NOT NULL,
    route           TEXT    NOT NULL,
    hostgroup       TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    alertnames      TEXT    NOT NULL,
    alert_count     INTEGER NOT NULL,
    batch_id        INTEGER NOT NULL,  -- batches.id
    alerts          TEXT,              -- indices in the batch, e.g. '0,2,5'; NULL for all
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    folded_into     INTEGER
);
INSERT INTO notifications_by_batch
    SELECT id, receiver, route, hostgroup, status, alertnames, alert_count, id, NULL, state, attempts, last_error,
        created_at, next_attempt_at, updated_at, sent_at, folded_into
    FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_by_batch RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (receiver, next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_queue ON notifications (receiver, hostgroup, next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_dead ON notifications (id) WHERE state = 'dead';
CREATE INDEX notifications_created ON notifications (created_at);
-- Pruning removes the batches no notification points at any more.
CREATE INDEX notifications_batch ON notifications (batch_id);

-- Claims are keyed by fingerprint first: the claims of one alert at every receiver share
-- a page, so that a storm of new alerts dirties one page per alert rather than one per
-- alert and receiver (each commit writes whole pages to the WAL), and one lookup reads an
-- alert's claims at every receiver.
CREATE TABLE claims_by_fingerprint (
    receiver        TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at       INTEGER NOT NULL,
    notified_at     INTEGER NOT NULL,
    notification_id INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, receiver)
) WITHOUT ROWID;
INSERT INTO claims_by_fingerprint SELECT receiver, fingerprint, status, starts_at, notified_at, notification_id FROM claims;
DROP TABLE claims;
ALTER TABLE claims_by_fingerprint RENAME TO claims;
CREATE INDEX claims_notification ON claims (notification_id);
CREATE INDEX claims_notified ON claims (notified_at);

-- +goose Down
-- Notifications get their batch back as their payload. Batches written by this version are
-- compressed, which earlier versions cannot read: restore a backup taken before the
-- upgrade instead (README, "Upgrading").
CREATE TABLE claims_by_receiver (
    receiver        TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at       INTEGER NOT NULL,
    notified_at     INTEGER NOT NULL,
    notification_id INTEGER NOT NULL,
    PRIMARY KEY (receiver, fingerprint)
) WITHOUT ROWID;
INSERT INTO claims_by_receiver SELECT receiver, fingerprint, status, starts_at, notified_at, notification_id FROM claims;
DROP TABLE claims;
ALTER TABLE claims_by_receiver RENAME TO claims;
CREATE INDEX claims_notification ON claims (notification_id);
CREATE INDEX claims_notified ON claims (notified_at);
CREATE TABLE notifications_with_payload (
    id              INTEGER PRIMARY KEY,
    receiver        TEXT    NOT NULL,
    route           TEXT    NOT NULL,
    hostgroup       TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    alertnames      TEXT    NOT NULL,
    alert_count     INTEGER NOT NULL,
    payload         BLOB    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    folded_into     INTEGER
);
INSERT INTO notifications_with_payload
    SELECT n.id, n.receiver, n.route, n.hostgroup, n.status, n.alertnames, n.alert_count, b.body, n.state, n.attempts,
        n.last_error, n.created_at, n.next_attempt_at, n.updated_at, n.sent_at, n.folded_into
    FROM notifications n JOIN batches b ON b.id = n.batch_id;
DROP TABLE notifications;
ALTER TABLE notifications_with_payload RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (receiver, next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_queue ON notifications (receiver, hostgroup, next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_state ON notifications (state, id);
CREATE INDEX notifications_updated ON notifications (updated_at);
DROP TABLE batches;
