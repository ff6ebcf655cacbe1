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
ALTER TABLE notifications ADD COLUMN batch_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN alerts TEXT;
UPDATE notifications SET batch_id = id;
ALTER TABLE notifications DROP COLUMN payload;
-- Pruning removes the batches no notification points at any more.
CREATE INDEX notifications_batch ON notifications (batch_id);

-- Indexes that change when a notification is sent cost the commit that records it a page
-- each (a commit writes whole pages to the WAL): state (state, id) served only listings
-- by state, and is now kept for dead notifications alone (listings of pending ones use
-- notifications_due, and of sent ones the primary key); pruning finds old rows by
-- created_at, set once, instead of updated_at (a row is never touched before it is made).
DROP INDEX notifications_state;
CREATE INDEX notifications_dead ON notifications (id) WHERE state = 'dead';
DROP INDEX notifications_updated;
CREATE INDEX notifications_created ON notifications (created_at);

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
DROP INDEX notifications_created;
CREATE INDEX notifications_updated ON notifications (updated_at);
DROP INDEX notifications_dead;
CREATE INDEX notifications_state ON notifications (state, id);
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
-- Notifications get their batch back as their payload. Batches written by this version are
-- compressed, which earlier versions cannot read: restore a backup taken before the
-- upgrade instead (README, "Upgrading").
ALTER TABLE notifications ADD COLUMN payload BLOB NOT NULL DEFAULT x'';
UPDATE notifications SET payload = (SELECT body FROM batches WHERE batches.id = notifications.batch_id);
DROP INDEX notifications_batch;
ALTER TABLE notifications DROP COLUMN alerts;
ALTER TABLE notifications DROP COLUMN batch_id;
DROP TABLE batches;
