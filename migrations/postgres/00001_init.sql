-- +goose Up
-- The same schema as sqlite/00001_init.sql, in PostgreSQL's types. Times stay BIGINT
-- (unix milliseconds; claims' starts_at in nanoseconds), so the store's Go code reads
-- both backends alike.
CREATE TABLE notifications (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    receiver        TEXT    NOT NULL,
    route           TEXT    NOT NULL,
    hostgroup       TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    alertnames      TEXT    NOT NULL,
    alert_count     INTEGER NOT NULL,
    payload         BYTEA   NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX notifications_due ON notifications (receiver, next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_queue ON notifications (receiver, hostgroup, next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_state ON notifications (state, id);
CREATE INDEX notifications_updated ON notifications (updated_at);

CREATE TABLE claims (
    receiver        TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at       BIGINT  NOT NULL,
    notified_at     BIGINT  NOT NULL,
    notification_id BIGINT  NOT NULL,
    PRIMARY KEY (receiver, fingerprint)
);
CREATE INDEX claims_notification ON claims (notification_id);
CREATE INDEX claims_notified ON claims (notified_at);

-- +goose Down
DROP TABLE claims;
DROP TABLE notifications;
