-- Settings an admin changes while Parley runs (for now: whether signup is
-- open), by name. A setting that has no row here takes its flag's value.
CREATE TABLE settings (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
