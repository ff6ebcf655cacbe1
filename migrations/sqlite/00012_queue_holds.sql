-- +goose Up
-- PostgreSQL only (postgres/00012_queue_holds.sql): SQLite's one writer finds each queue's
-- last pending notification in the insert itself, at little cost. The version is taken so
-- that both backends number their migrations alike.
SELECT 1;

-- +goose Down
SELECT 1;
