-- Why each reply ended (finish_reason: 'stop', 'length', or the status of
-- a reply that did not end by itself) and the oldest message the model saw
-- when it wrote it (context_from, a message id; the ones before it did not
-- fit the model's context window). '' when unknown: replies stored before
-- this version keep '' unless their status tells.
ALTER TABLE messages
    ADD COLUMN finish_reason text NOT NULL DEFAULT '',
    ADD COLUMN context_from  text NOT NULL DEFAULT '';

UPDATE messages SET finish_reason = status
    WHERE role = 'assistant' AND status IN ('stopped', 'failed', 'interrupted');
