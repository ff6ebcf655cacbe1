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

-- +goose Down
-- Notifications get their batch back as their payload. Batches written by this version are
-- compressed, which earlier versions cannot read: restore a backup taken before the
-- upgrade instead (README, "Upgrading").
ALTER TABLE notifications ADD COLUMN payload BLOB NOT NULL DEFAULT x'';
UPDATE notifications SET payload = (SELECT body FROM batches WHERE batches.id = notifications.batch_id);
DROP INDEX notifications_batch;
ALTER TABLE notifications DROP COLUMN alerts;
ALTER TABLE notifications DROP COLUMN batch_id;
DROP TABLE batches;
