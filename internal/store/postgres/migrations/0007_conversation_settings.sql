-- Generation settings of a conversation, sent with each of its replies:
-- temperature and top_p (NULL: the model's default) and max_tokens (0:
-- the default).
ALTER TABLE conversations
    ADD COLUMN temperature double precision,
    ADD COLUMN top_p       double precision,
    ADD COLUMN max_tokens  integer NOT NULL DEFAULT 0;
