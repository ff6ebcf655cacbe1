-- +goose Up
-- As sqlite/00008_suppressions.sql: the copies dedupe did not send again.
CREATE TABLE suppressions (
    notification_id BIGINT NOT NULL,
    source          TEXT   NOT NULL,
    reason          TEXT   NOT NULL,
    first_at        BIGINT NOT NULL,
    last_at         BIGINT NOT NULL,
    copies          BIGINT NOT NULL,
    alerts          BIGINT NOT NULL,
    PRIMARY KEY (notification_id, source, reason)
);

-- The console's last errors are the newest failed attempts.
CREATE INDEX attempts_at ON attempts (at);

-- +goose Down
DROP INDEX attempts_at;
DROP TABLE suppressions;
