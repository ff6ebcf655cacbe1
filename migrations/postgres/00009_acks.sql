-- +goose Up
-- As sqlite/00009_acks.sql: acknowledged alert episodes.
CREATE TABLE acks (
    fingerprint TEXT   NOT NULL,
    starts_at   BIGINT NOT NULL,
    author      TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    comment     TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    PRIMARY KEY (fingerprint, starts_at)
);
ALTER TABLE notifications ADD COLUMN acks TEXT;

-- +goose Down
ALTER TABLE notifications DROP COLUMN acks;
DROP TABLE acks;
