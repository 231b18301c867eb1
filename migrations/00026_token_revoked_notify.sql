-- +goose Up
-- Every replica keeps the tokens it has checked in memory for a few seconds
-- (store/tokencache.go). A token's revocation, or its deletion, is announced
-- on the api_token_revoked channel in the same transaction (delivered at
-- commit), whichever path or hand-written SQL does it, so every replica
-- forgets its cached tokens at once instead of at the end of their TTL.
-- +goose StatementBegin
CREATE FUNCTION notify_api_token_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('api_token_revoked', OLD.id::text);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER api_tokens_revoked_notify
    AFTER UPDATE OF revoked_at, token_hash, role, scope ON api_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.token_hash IS DISTINCT FROM NEW.token_hash
        OR OLD.role IS DISTINCT FROM NEW.role OR OLD.scope IS DISTINCT FROM NEW.scope)
    EXECUTE FUNCTION notify_api_token_revoked();

CREATE TRIGGER api_tokens_deleted_notify
    AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION notify_api_token_revoked();

-- +goose Down
DROP TRIGGER api_tokens_deleted_notify ON api_tokens;
DROP TRIGGER api_tokens_revoked_notify ON api_tokens;
DROP FUNCTION notify_api_token_revoked();
