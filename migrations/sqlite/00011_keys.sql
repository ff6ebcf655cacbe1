-- +goose Up
-- keys are the server's own secrets, made once, shared by replicas: "links" signs the
-- links that messages carry to act on an alert.
CREATE TABLE keys (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE keys;
