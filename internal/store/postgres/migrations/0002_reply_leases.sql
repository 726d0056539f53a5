-- Replies are held by the process generating them under a lease (owner id
-- and expiry, renewed while it runs); a reply whose lease ran out is ended
-- as 'interrupted', a new final status. Rows still 'streaming' (left by a
-- crash) get no lease ('epoch'), so the first sweep ends them.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('streaming', 'complete', 'stopped', 'failed', 'interrupted'));

-- The process generating a streaming reply, and until when (the
-- database's clock) it holds it; '' and 'epoch' when none does.
ALTER TABLE messages
    ADD COLUMN lease_owner text        NOT NULL DEFAULT '',
    ADD COLUMN lease_until timestamptz NOT NULL DEFAULT 'epoch';

-- The sweep for run-out leases reads only the streaming replies.
CREATE INDEX messages_streaming ON messages (lease_until) WHERE status = 'streaming';
