package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
)

const convColumns = `id, title, system_prompt, model, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanConversation(r scanner) (chat.Conversation, error) {
	var c chat.Conversation
	var created, updated int64
	if err := r.Scan(&c.ID, &c.Title, &c.SystemPrompt, &c.Model, &created, &updated); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = ms(created), ms(updated)
	return c, nil
}

// CreateConversation stores c, filling its id and times when empty.
func (d *DB) CreateConversation(ctx context.Context, c chat.Conversation) (chat.Conversation, error) {
	if d.closed.Load() {
		return chat.Conversation{}, errClosed()
	}
	c, err := store.PrepareConversation(c)
	if err != nil {
		return chat.Conversation{}, err
	}
	_, err = d.write.ExecContext(ctx,
		`INSERT INTO conversations (`+convColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Title, c.SystemPrompt, c.Model, c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli())
	if err != nil {
		err = classify(ctx, "create conversation", err)
		if chat.KindOf(err) == chat.KindConflict {
			return chat.Conversation{}, chat.E(chat.KindConflict, "a conversation with this id already exists", err)
		}
		return chat.Conversation{}, err
	}
	return c, nil
}

// GetConversation returns the conversation and its messages in order, read
// in one transaction so they are consistent with each other.
func (d *DB) GetConversation(ctx context.Context, id string) (chat.Conversation, error) {
	if d.closed.Load() {
		return chat.Conversation{}, errClosed()
	}
	if !chat.ValidID(id) {
		return chat.Conversation{}, store.NotFound("conversation")
	}
	tx, err := d.read.BeginTx(ctx, nil)
	if err != nil {
		return chat.Conversation{}, classify(ctx, "begin read", err)
	}
	defer tx.Rollback()
	c, err := scanConversation(tx.QueryRowContext(ctx, `SELECT `+convColumns+` FROM conversations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Conversation{}, store.NotFound("conversation")
	}
	if err != nil {
		return chat.Conversation{}, classify(ctx, "get conversation", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+msgColumns+` FROM messages WHERE conversation_id = ? ORDER BY seq`, id)
	if err != nil {
		return chat.Conversation{}, classify(ctx, "get messages", err)
	}
	defer rows.Close()
	c.Messages = []chat.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return chat.Conversation{}, classify(ctx, "scan message", err)
		}
		c.Messages = append(c.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return chat.Conversation{}, classify(ctx, "get messages", err)
	}
	return c, nil
}

// ListConversations returns one page, newest activity first.
func (d *DB) ListConversations(ctx context.Context, opts chat.ListOptions) (chat.Page, error) {
	if d.closed.Load() {
		return chat.Page{}, errClosed()
	}
	limit := store.Limit(opts.Limit)
	var where []string
	var args []any
	if opts.Cursor != "" {
		cur, err := store.DecodeCursor(opts.Cursor)
		if err != nil {
			return chat.Page{}, err
		}
		where = append(where, `(c.updated_at, c.id) < (?, ?)`)
		args = append(args, cur.UpdatedAt.UnixMilli(), cur.ID)
	}
	if opts.Query != "" {
		// LIKE is case-insensitive for ASCII in SQLite (the driver has
		// no ICU), which is what a search box needs most.
		pat := store.LikePattern(opts.Query)
		where = append(where, `(c.title LIKE ? ESCAPE '\' OR EXISTS (
			SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content LIKE ? ESCAPE '\'))`)
		args = append(args, pat, pat)
	}
	q := `SELECT ` + prefixed("c.", convColumns) + ` FROM conversations c`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY c.updated_at DESC, c.id DESC LIMIT ?`
	args = append(args, limit+1) // one more tells whether a next page exists

	rows, err := d.read.QueryContext(ctx, q, args...)
	if err != nil {
		return chat.Page{}, classify(ctx, "list conversations", err)
	}
	defer rows.Close()
	var convs []chat.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return chat.Page{}, classify(ctx, "scan conversation", err)
		}
		convs = append(convs, c)
	}
	if err := rows.Err(); err != nil {
		return chat.Page{}, classify(ctx, "list conversations", err)
	}
	return store.PageOf(convs, limit), nil
}

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}

// UpdateConversation applies p and bumps UpdatedAt.
func (d *DB) UpdateConversation(ctx context.Context, id string, p chat.ConversationPatch) (chat.Conversation, error) {
	if d.closed.Load() {
		return chat.Conversation{}, errClosed()
	}
	if !chat.ValidID(id) {
		return chat.Conversation{}, store.NotFound("conversation")
	}
	if err := store.CheckPatch(p); err != nil {
		return chat.Conversation{}, err
	}
	// MAX keeps UpdatedAt from moving backwards when it was set ahead of
	// this clock.
	c, err := scanConversation(d.write.QueryRowContext(ctx, `UPDATE conversations SET
			title = COALESCE(?, title),
			system_prompt = COALESCE(?, system_prompt),
			model = COALESCE(?, model),
			updated_at = MAX(updated_at, ?)
		WHERE id = ? RETURNING `+convColumns,
		p.Title, p.SystemPrompt, p.Model, now().UnixMilli(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Conversation{}, store.NotFound("conversation")
	}
	if err != nil {
		return chat.Conversation{}, classify(ctx, "update conversation", err)
	}
	return c, nil
}

// DeleteConversation removes the conversation; its messages go with it
// (ON DELETE CASCADE).
func (d *DB) DeleteConversation(ctx context.Context, id string) error {
	if d.closed.Load() {
		return errClosed()
	}
	if !chat.ValidID(id) {
		return store.NotFound("conversation")
	}
	res, err := d.write.ExecContext(ctx, `DELETE FROM conversations WHERE id = ?`, id)
	if err != nil {
		return classify(ctx, "delete conversation", err)
	}
	return mustAffect(ctx, res, "conversation")
}

// mustAffect turns "no row changed" into KindNotFound.
func mustAffect(ctx context.Context, res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return classify(ctx, "rows affected", err)
	}
	if n == 0 {
		return store.NotFound(what)
	}
	return nil
}
