-- Accounts: users, their sessions and API keys, and an owner for every
-- conversation. Ids use the "C" collation, as in 0001.
CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    -- lower case; '' only for the unclaimed local user (below)
    username      text        NOT NULL UNIQUE,
    -- argon2id in PHC form; '' means no password: nobody can sign in
    password_hash text        NOT NULL DEFAULT '',
    role          text        NOT NULL CHECK (role IN ('admin', 'user')),
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- The local user: who every request is under --auth none, and the owner of
-- the conversations stored before accounts existed. The first account
-- signed up claims this row (it gets a name and a password), so that
-- everything made before is that first admin's.
INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at)
VALUES ('00000000-0000-0000-0000-000000000000', '', '', 'admin', false,
        date_trunc('milliseconds', now()), date_trunc('milliseconds', now()));

ALTER TABLE conversations ADD COLUMN owner_id text COLLATE "C" NOT NULL
    DEFAULT '00000000-0000-0000-0000-000000000000' REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE conversations ALTER COLUMN owner_id DROP DEFAULT;

-- Every listing is one owner's: newest activity first, id as the tie-break.
DROP INDEX conversations_updated;
CREATE INDEX conversations_owner_updated ON conversations (owner_id, updated_at DESC, id DESC);

CREATE TABLE sessions (
    -- sha256 of the cookie's token, hex: the token itself is never stored
    token_hash text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    -- when the expiry last moved (it slides with use)
    renewed_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_keys (
    id           text COLLATE "C" PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    -- sha256 of the key, hex: the key is shown once and never stored
    key_hash     text COLLATE "C" NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
