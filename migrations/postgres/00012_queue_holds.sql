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
-- The queues that wait for a retry now hold until their last pending notification:
-- what this version enqueues after the upgrade goes behind it, as before.
INSERT INTO queue_holds (receiver, hostgroup, until)
    SELECT receiver, hostgroup, MAX(next_attempt_at) FROM notifications
    WHERE state = 'pending' GROUP BY receiver, hostgroup;

-- +goose Down
DROP TABLE queue_holds;
