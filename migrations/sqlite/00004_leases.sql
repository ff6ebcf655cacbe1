-- +goose Up
-- Version 4 is PostgreSQL's leases table (see postgres/00004_leases.sql). One SQLite file
-- has one alertrouter (the storage lock), which holds every lease: nothing to store. The
-- version is kept so that a version number means the same on both backends.
SELECT 1;

-- +goose Down
SELECT 1;
