-- Replies are held by the process generating them under a lease (owner id
-- and expiry, renewed while it runs); a reply whose lease ran out is ended
-- as 'interrupted', a new final status. SQLite cannot change a CHECK
-- constraint in place, so the messages table is rebuilt. Nothing
-- references messages, and the copy keeps every row as it was; rows still
-- 'streaming' (left by a crash) get no lease, so the first sweep ends them.
CREATE TABLE messages_new (
    id              TEXT    PRIMARY KEY,
    conversation_id TEXT    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content         TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL CHECK (status IN ('streaming', 'complete', 'stopped', 'failed', 'interrupted')),
    error           TEXT    NOT NULL DEFAULT '',
    model           TEXT    NOT NULL DEFAULT '',
    prompt_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    first_token_ms  INTEGER NOT NULL DEFAULT 0,
    duration_ms     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- The process generating a streaming reply, and until when (Unix ms,
    -- the database's clock) it holds it; '' and 0 when none does.
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (conversation_id, seq)
);

INSERT INTO messages_new (id, conversation_id, seq, role, content, status, error, model,
        prompt_tokens, output_tokens, first_token_ms, duration_ms, created_at, updated_at)
    SELECT id, conversation_id, seq, role, content, status, error, model,
        prompt_tokens, output_tokens, first_token_ms, duration_ms, created_at, updated_at
    FROM messages;

DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;

-- The sweep for run-out leases reads only the streaming replies.
CREATE INDEX messages_streaming ON messages (lease_until) WHERE status = 'streaming';
