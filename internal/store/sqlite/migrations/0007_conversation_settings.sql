-- Generation settings of a conversation, sent with each of its replies:
-- temperature and top_p (NULL: the model's default) and max_tokens (0:
-- the default).
ALTER TABLE conversations ADD COLUMN temperature REAL;
ALTER TABLE conversations ADD COLUMN top_p REAL;
ALTER TABLE conversations ADD COLUMN max_tokens INTEGER NOT NULL DEFAULT 0;
