-- +goose Up
-- As sqlite/00011_keys.sql: the server's own secrets.
CREATE TABLE keys (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE keys;
