-- Accounts: users, their sessions and API keys, and an owner for every
-- conversation. Times are Unix milliseconds (UTC), as in 0001 and 0002.
CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    -- lower case; '' only for the unclaimed local user (below)
    username      TEXT    NOT NULL UNIQUE,
    -- argon2id in PHC form; '' means no password: nobody can sign in
    password_hash TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- The local user: who every request is under --auth none, and the owner of
-- the conversations stored before accounts existed. The first account
-- signed up claims this row (it gets a name and a password), so that
-- everything made before is that first admin's.
INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at)
VALUES ('00000000-0000-0000-0000-000000000000', '', '', 'admin', 0,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- SQLite cannot add a column with a foreign key and a non-NULL default, so
-- the reference to users is kept by the two triggers below instead.
ALTER TABLE conversations ADD COLUMN owner_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';

CREATE TRIGGER conversations_owner_exists BEFORE INSERT ON conversations
WHEN NOT EXISTS (SELECT 1 FROM users WHERE id = NEW.owner_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: conversations.owner_id');
END;

CREATE TRIGGER users_delete_conversations AFTER DELETE ON users
BEGIN
    DELETE FROM conversations WHERE owner_id = OLD.id;
END;

-- Every listing is one owner's: newest activity first, id as the tie-break.
DROP INDEX conversations_updated;
CREATE INDEX conversations_owner_updated ON conversations (owner_id, updated_at DESC, id DESC);

CREATE TABLE sessions (
    -- sha256 of the cookie's token, hex: the token itself is never stored
    token_hash   TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    -- when the expiry last moved (it slides with use)
    renewed_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    -- sha256 of the key, hex: the key is shown once and never stored
    key_hash     TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
