-- +goose Up
-- Version 5 is PostgreSQL's replicas table (see postgres/00005_replicas.sql): one SQLite
-- file has one alertrouter, which has nobody to disagree with.
SELECT 1;

-- +goose Down
SELECT 1;
