-- Settings an admin changes while Parley runs (for now: whether signup is
-- open), by name. A setting that has no row here takes its flag's value.
CREATE TABLE settings (
    name       text COLLATE "C" PRIMARY KEY,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL
);
