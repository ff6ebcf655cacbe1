-- +goose Up
-- folded_into is the notification whose message also carried this one: when more
-- notifications are due than a receiver's rate limit allows (the IM robots take 20 a
-- minute), the dispatcher folds them into one digest message. NULL for the others.
ALTER TABLE notifications ADD COLUMN folded_into INTEGER;

-- +goose Down
ALTER TABLE notifications DROP COLUMN folded_into;
