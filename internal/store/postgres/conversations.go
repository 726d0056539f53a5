package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
)

const convColumns = `id, title, system_prompt, model, created_at, updated_at`

func scanConversation(r pgx.Row) (chat.Conversation, error) {
	var c chat.Conversation
	err := r.Scan(&c.ID, &c.Title, &c.SystemPrompt, &c.Model, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = ts(c.CreatedAt), ts(c.UpdatedAt)
	return c, err
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
	_, err = d.pool.Exec(ctx,
		`INSERT INTO conversations (`+convColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.Title, c.SystemPrompt, c.Model, c.CreatedAt, c.UpdatedAt)
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
// in one repeatable-read transaction so they are consistent with each other.
func (d *DB) GetConversation(ctx context.Context, id string) (chat.Conversation, error) {
	if d.closed.Load() {
		return chat.Conversation{}, errClosed()
	}
	if !chat.ValidID(id) {
		return chat.Conversation{}, store.NotFound("conversation")
	}
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return chat.Conversation{}, classify(ctx, "begin read", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	c, err := scanConversation(tx.QueryRow(ctx, `SELECT `+convColumns+` FROM conversations WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Conversation{}, store.NotFound("conversation")
	}
	if err != nil {
		return chat.Conversation{}, classify(ctx, "get conversation", err)
	}
	rows, err := tx.Query(ctx, `SELECT `+msgColumns+` FROM messages WHERE conversation_id = $1 ORDER BY seq`, id)
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

// args collects query arguments and names their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// ListConversations returns one page, newest activity first.
func (d *DB) ListConversations(ctx context.Context, opts chat.ListOptions) (chat.Page, error) {
	if d.closed.Load() {
		return chat.Page{}, errClosed()
	}
	limit := store.Limit(opts.Limit)
	var where []string
	var a args
	if opts.Cursor != "" {
		cur, err := store.DecodeCursor(opts.Cursor)
		if err != nil {
			return chat.Page{}, err
		}
		where = append(where, `(c.updated_at, c.id) < (`+a.add(cur.UpdatedAt)+`, `+a.add(cur.ID)+`)`)
	}
	if opts.Query != "" {
		p := a.add(store.LikePattern(opts.Query))
		where = append(where, `(c.title ILIKE `+p+` ESCAPE '\' OR EXISTS (
			SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content ILIKE `+p+` ESCAPE '\'))`)
	}
	q := `SELECT c.id, c.title, c.system_prompt, c.model, c.created_at, c.updated_at FROM conversations c`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	// One more row than the page tells whether a next page exists.
	q += ` ORDER BY c.updated_at DESC, c.id DESC LIMIT ` + a.add(limit+1)

	rows, err := d.pool.Query(ctx, q, a...)
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
	// GREATEST keeps UpdatedAt from moving backwards when it was set ahead
	// of this clock.
	c, err := scanConversation(d.pool.QueryRow(ctx, `UPDATE conversations SET
			title = COALESCE($1, title),
			system_prompt = COALESCE($2, system_prompt),
			model = COALESCE($3, model),
			updated_at = GREATEST(updated_at, $4)
		WHERE id = $5 RETURNING `+convColumns,
		p.Title, p.SystemPrompt, p.Model, store.Now(), id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	tag, err := d.pool.Exec(ctx, `DELETE FROM conversations WHERE id = $1`, id)
	if err != nil {
		return classify(ctx, "delete conversation", err)
	}
	if tag.RowsAffected() == 0 {
		return store.NotFound("conversation")
	}
	return nil
}
