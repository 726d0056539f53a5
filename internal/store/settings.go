package store

import (
	"context"
	"database/sql"
	"errors"
)

// Setting returns the stored value of the setting name; ok is false when
// it was never set.
func (d *DB) Setting(ctx context.Context, name string) (value string, ok bool, err error) {
	if err := d.ready(); err != nil {
		return "", false, err
	}
	err = d.read.QueryRowContext(ctx, d.q(`SELECT value FROM settings WHERE name = ?`), name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, d.classify(ctx, "get setting", err)
	}
	return value, true, nil
}

// SetSetting stores value as the setting name, replacing what was there.
func (d *DB) SetSetting(ctx context.Context, name, value string) error {
	if err := d.ready(); err != nil {
		return err
	}
	if err := checkText("name", name); err != nil {
		return err
	}
	if err := checkText("value", value); err != nil {
		return err
	}
	_, err := d.write.ExecContext(ctx, d.q(`INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
		name, value, d.now())
	return d.classify(ctx, "set setting", err)
}
