-- Conversations and their messages. Ids use the "C" collation so that
-- ORDER BY id is byte order, as in Go and in SQLite (UUIDv7 strings then
-- sort by creation); locale collations would ignore the dashes.
CREATE TABLE conversations (
    id            text COLLATE "C" PRIMARY KEY,
    title         text        NOT NULL DEFAULT '',
    system_prompt text        NOT NULL DEFAULT '',
    model         text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- last seq handed out to a message; bumped by each append under the
    -- row lock, never reused, so order survives deletes.
    next_seq      bigint      NOT NULL DEFAULT 0
);

-- Listing order: newest activity first, id as the tie-break.
CREATE INDEX conversations_updated ON conversations (updated_at DESC, id DESC);

CREATE TABLE messages (
    id              text COLLATE "C" PRIMARY KEY,
    conversation_id text COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             bigint      NOT NULL,
    role            text        NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content         text        NOT NULL DEFAULT '',
    status          text        NOT NULL CHECK (status IN ('streaming', 'complete', 'stopped', 'failed')),
    error           text        NOT NULL DEFAULT '',
    model           text        NOT NULL DEFAULT '',
    prompt_tokens   integer     NOT NULL DEFAULT 0,
    output_tokens   integer     NOT NULL DEFAULT 0,
    first_token_ms  bigint      NOT NULL DEFAULT 0,
    duration_ms     bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- Also the index for reading a conversation in order and for the
    -- cascade from conversations.
    UNIQUE (conversation_id, seq)
);
