-- +goose Up
-- The time until which a retry holds back each (receiver, host group) queue: MarkRetry
-- raises it when it pushes the queue's pending notifications back, and a new notification
-- of the queue is due no earlier. An accept reads the few holds of its queues in its first
-- round trip, instead of looking up each queue's last pending notification in its insert
-- (a tenth of the accept's time). Pruning removes the holds that have passed.
CREATE TABLE queue_holds (
    receiver  TEXT   NOT NULL,
    hostgroup TEXT   NOT NULL,
    until     BIGINT NOT NULL,
    PRIMARY KEY (receiver, hostgroup)
);

-- +goose Down
DROP TABLE queue_holds;
