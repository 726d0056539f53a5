package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/parley-chat/parley/internal/chat"
)

const convColumns = `id, title, system_prompt, model, created_at, updated_at, temperature, top_p, max_tokens, pinned, archived`

// owned is one owner's conversations: every statement names the owner, so
// another owner's rows are neither seen nor changed — they answer
// KindNotFound, like ids that exist nowhere.
type owned struct {
	*DB
	owner string
}

// For returns the conversations of owner, a user id.
func (d *DB) For(owner string) chat.Conversations { return owned{DB: d, owner: owner} }

// ready reports a closed store, or an owner that cannot be one: every
// owner is a user id, so an empty one is a bug that must not widen or
// blur what a statement sees.
func (o owned) ready() error {
	if o.closed.Load() {
		return o.dl.Closed()
	}
	if !chat.ValidID(o.owner) {
		return chat.E(chat.KindInternal, "internal error", fmt.Errorf("store: conversations of the invalid owner %q", o.owner))
	}
	return nil
}

func scanConversation(r scanner) (chat.Conversation, error) {
	var c chat.Conversation
	var temp, topP sql.NullFloat64
	var pinned, archived int
	err := r.Scan(&c.ID, &c.Title, &c.SystemPrompt, &c.Model, scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt), &temp, &topP, &c.Settings.MaxTokens,
		&pinned, &archived)
	c.Pinned, c.Archived = pinned != 0, archived != 0
	if temp.Valid {
		c.Settings.Temperature = &temp.Float64
	}
	if topP.Valid {
		c.Settings.TopP = &topP.Float64
	}
	return c, err
}

// CreateConversation stores c, filling its id and times when empty.
func (d owned) CreateConversation(ctx context.Context, c chat.Conversation) (chat.Conversation, error) {
	if err := d.ready(); err != nil {
		return chat.Conversation{}, err
	}
	c, err := PrepareConversation(c)
	if err != nil {
		return chat.Conversation{}, err
	}
	_, err = d.write.ExecContext(ctx, d.q(`INSERT INTO conversations (`+convColumns+`, owner_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.Title, c.SystemPrompt, c.Model, d.dl.Time(c.CreatedAt), d.dl.Time(c.UpdatedAt),
		c.Settings.Temperature, c.Settings.TopP, c.Settings.MaxTokens, flag(c.Pinned), flag(c.Archived), d.owner)
	if err != nil {
		err = d.classify(ctx, "create conversation", err)
		switch chat.KindOf(err) {
		case chat.KindConflict:
			return chat.Conversation{}, chat.E(chat.KindConflict, "a conversation with this id already exists", err)
		case chat.KindNotFound: // the reference to users: the owner was deleted meanwhile
			return chat.Conversation{}, chat.E(chat.KindNotFound, "user not found", err)
		}
		return chat.Conversation{}, err
	}
	return c, nil
}

// GetConversation returns the conversation and its messages in order, read
// in one transaction (Dialect.ReadTx) so they are consistent with each
// other.
func (d owned) GetConversation(ctx context.Context, id string) (chat.Conversation, error) {
	if err := d.ready(); err != nil {
		return chat.Conversation{}, err
	}
	if !chat.ValidID(id) {
		return chat.Conversation{}, NotFound("conversation")
	}
	tx, err := d.read.BeginTx(ctx, d.dl.ReadTx)
	if err != nil {
		return chat.Conversation{}, d.classify(ctx, "begin read", err)
	}
	defer tx.Rollback()
	c, err := scanConversation(tx.QueryRowContext(ctx, d.q(`SELECT `+convColumns+` FROM conversations WHERE id = ? AND owner_id = ?`), id, d.owner))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Conversation{}, NotFound("conversation")
	}
	if err != nil {
		return chat.Conversation{}, d.classify(ctx, "get conversation", err)
	}
	type row struct {
		m      chat.Message
		chosen bool
	}
	rows, err := list(ctx, d.DB, tx, "get messages", func(r scanner) (row, error) {
		var x row
		var chosen int
		var err error
		x.m, err = scanMessage(scanWith{r, &chosen})
		x.chosen = chosen != 0
		return x, err
	}, `SELECT `+msgColumns+`, chosen FROM messages WHERE conversation_id = ? ORDER BY seq`, id)
	if err != nil {
		return chat.Conversation{}, err
	}
	ms, chosen := make([]chat.Message, len(rows)), make([]bool, len(rows))
	for i, x := range rows {
		ms[i], chosen[i] = x.m, x.chosen
	}
	c.Messages = branchOf(ms, chosen)
	if c.Messages == nil {
		c.Messages = []chat.Message{}
	}
	return c, nil
}

// ListConversations returns one page, newest activity first.
func (d owned) ListConversations(ctx context.Context, opts chat.ListOptions) (chat.Page, error) {
	if err := d.ready(); err != nil {
		return chat.Page{}, err
	}
	limit := Limit(opts.Limit)
	where := []string{`c.owner_id = ?`}
	args := []any{d.owner}
	if opts.Cursor != "" {
		cur, err := DecodeCursor(opts.Cursor)
		if err != nil {
			return chat.Page{}, err
		}
		where = append(where, `(c.updated_at, c.id) < (?, ?)`)
		args = append(args, d.dl.Time(cur.UpdatedAt), cur.ID)
	}
	if opts.Query != "" {
		pat := LikePattern(opts.Query)
		where = append(where, `(c.title `+d.dl.ILike+` ? ESCAPE '\' OR EXISTS (
			SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content `+d.dl.ILike+` ? ESCAPE '\'))`)
		args = append(args, pat, pat)
	}
	archived := opts.Archived
	if archived == chat.FilterDefault {
		archived = chat.FilterNone
		if opts.Query != "" {
			archived = chat.FilterAny
		}
	}
	where = append(where, filterSQL("c.pinned", opts.Pinned)...)
	where = append(where, filterSQL("c.archived", archived)...)
	if opts.SkipEmpty {
		where = append(where, `EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)`)
	}
	q := `SELECT c.id, c.title, c.system_prompt, c.model, c.created_at, c.updated_at, c.temperature, c.top_p, c.max_tokens, c.pinned, c.archived FROM conversations c
		WHERE ` + strings.Join(where, ` AND `) + ` ORDER BY c.updated_at DESC, c.id DESC LIMIT ?`
	args = append(args, limit+1) // one more tells whether a next page exists

	convs, err := list(ctx, d.DB, d.read, "list conversations", scanConversation, q, args...)
	if err != nil {
		return chat.Page{}, err
	}
	return PageOf(convs, limit), nil
}

// UpdateConversation applies p and bumps UpdatedAt.
func (d owned) UpdateConversation(ctx context.Context, id string, p chat.ConversationPatch) (chat.Conversation, error) {
	if err := d.ready(); err != nil {
		return chat.Conversation{}, err
	}
	if !chat.ValidID(id) {
		return chat.Conversation{}, NotFound("conversation")
	}
	if err := CheckPatch(p); err != nil {
		return chat.Conversation{}, err
	}
	// Greatest keeps UpdatedAt from moving backwards when it was set ahead
	// of this clock.
	// Settings change together, or not at all.
	settings, args := "", []any{p.Title, p.SystemPrompt, p.Model, flagPtr(p.Pinned), flagPtr(p.Archived)}
	if p.Settings != nil {
		settings = `temperature = ?, top_p = ?, max_tokens = ?,`
		args = append(args, p.Settings.Temperature, p.Settings.TopP, p.Settings.MaxTokens)
	}
	// Pinning and archiving file a conversation away: they are not
	// activity, which would move it to the top of the list.
	bump := `updated_at`
	if p.Title != nil || p.SystemPrompt != nil || p.Model != nil || p.Settings != nil || p.Pinned == nil && p.Archived == nil {
		bump = d.dl.Greatest + `(updated_at, ?)`
		args = append(args, d.now())
	}
	c, err := scanConversation(d.write.QueryRowContext(ctx, d.q(`UPDATE conversations SET
			title = COALESCE(?, title),
			system_prompt = COALESCE(?, system_prompt),
			model = COALESCE(?, model),
			pinned = COALESCE(?, pinned),
			archived = COALESCE(?, archived), `+settings+`
			updated_at = `+bump+`
		WHERE id = ? AND owner_id = ? RETURNING `+convColumns),
		append(args, id, d.owner)...))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Conversation{}, NotFound("conversation")
	}
	if err != nil {
		return chat.Conversation{}, d.classify(ctx, "update conversation", err)
	}
	return c, nil
}

// DeleteConversation removes the conversation; its messages go with it
// (ON DELETE CASCADE).
func (d owned) DeleteConversation(ctx context.Context, id string) error {
	if err := d.ready(); err != nil {
		return err
	}
	if !chat.ValidID(id) {
		return NotFound("conversation")
	}
	return d.exec(ctx, d.write, "delete conversation", "conversation", `DELETE FROM conversations WHERE id = ? AND owner_id = ?`, id, d.owner)
}

// touch records activity on a conversation of the owner, or reports it
// unknown. In a transaction it also takes the conversation's row lock
// until commit, so that a concurrent append cannot slip a message in; the
// statements after it in that transaction may then rely on the
// conversation being the owner's.
func (d owned) touch(ctx context.Context, tx *sql.Tx, conversationID string) error {
	return d.exec(ctx, tx, "touch conversation", "conversation",
		`UPDATE conversations SET updated_at = `+d.dl.Greatest+`(updated_at, ?) WHERE id = ? AND owner_id = ?`,
		d.now(), conversationID, d.owner)
}

// scanWith scans a row into what scanMessage asks for and then extra.
type scanWith struct {
	r     scanner
	extra any
}

func (s scanWith) Scan(dest ...any) error { return s.r.Scan(append(dest, s.extra)...) }

// flag is a boolean as stored: 0 or 1 in an integer column, alike in
// every database.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// flagPtr is flag of *b, or NULL (leave as is) when b is nil.
func flagPtr(b *bool) *int {
	if b == nil {
		return nil
	}
	v := flag(*b)
	return &v
}

// filterSQL is the condition a listing's Filter puts on column.
func filterSQL(column string, f chat.Filter) []string {
	switch f {
	case chat.FilterOnly:
		return []string{column + ` = 1`}
	case chat.FilterNone:
		return []string{column + ` = 0`}
	}
	return nil
}
