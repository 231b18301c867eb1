-- +goose Up
-- Browser sessions (web/auth.go). The session cookie holds only a random
-- session id; the server keeps its SHA-256, the token (principal) it stands
-- for and its two deadlines, so that logout, token revocation and expiry are
-- decided here and a copied cookie stops working with them.
CREATE TABLE sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SHA-256 of the session id; the id itself is never stored
    id_hash       bytea NOT NULL UNIQUE CHECK (length(id_hash) = 32),
    token_id      bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    -- moved forward at most once a minute; the idle deadline is
    -- last_seen_at + http.session.idle
    last_seen_at  timestamptz NOT NULL,
    -- absolute deadline: created_at + http.session.absolute
    expires_at    timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX sessions_token_id ON sessions (token_id);
-- the purge deletes by either deadline
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);

-- +goose Down
DROP TABLE sessions;
