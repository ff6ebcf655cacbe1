-- +goose Up
-- leases give one replica at a time a piece of work: each receiver's delivery
-- ('receiver/NAME': its rate limits and pauses must not multiply by the replicas) and the
-- once-per-cluster jobs ('leader': retention, expiry, the watchdog). A holder renews its
-- lease every few seconds; one that stops renewing loses it when expires_at passes, by
-- the database's clock, never a replica's.
CREATE TABLE leases (
    name       TEXT        PRIMARY KEY,
    holder     TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE leases;
