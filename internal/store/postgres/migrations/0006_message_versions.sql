-- Versions of a turn: a retried reply or an edited question is stored
-- beside the message it replaces, both following the same parent
-- (parent_id, '' for a first message), and the conversation shows at each
-- turn the version chosen (chosen = 1, one per parent). Messages stored
-- before follow the one before them, each the only, chosen, version.
ALTER TABLE messages
    ADD COLUMN parent_id text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN chosen    integer NOT NULL DEFAULT 1 CHECK (chosen IN (0, 1));

UPDATE messages SET parent_id = COALESCE((SELECT p.id FROM messages p
    WHERE p.conversation_id = messages.conversation_id AND p.seq < messages.seq
    ORDER BY p.seq DESC LIMIT 1), '');
