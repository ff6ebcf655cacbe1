-- +goose Up
-- replicas records what config each live replica runs (a hash of it), so that replicas
-- whose configs differ, and so decide differently, are noticed (a metric and a log line).
CREATE TABLE replicas (
    holder      TEXT        PRIMARY KEY,  -- the replica's lease holder name
    config_hash TEXT        NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE replicas;
