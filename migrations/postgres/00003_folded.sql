-- +goose Up
-- As sqlite/00003_folded.sql: the notification whose digest carried this one.
ALTER TABLE notifications ADD COLUMN folded_into BIGINT;

-- +goose Down
ALTER TABLE notifications DROP COLUMN folded_into;
