package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
)

const msgColumns = `id, conversation_id, role, content, status, error, model,
	prompt_tokens, output_tokens, first_token_ms, duration_ms, created_at, updated_at`

func scanMessage(r pgx.Row) (chat.Message, error) {
	var m chat.Message
	err := r.Scan(&m.ID, &m.ConversationID, &m.Role, &m.Content, &m.Status, &m.Error, &m.Model,
		&m.PromptTokens, &m.OutputTokens, &m.FirstTokenMS, &m.DurationMS, &m.CreatedAt, &m.UpdatedAt)
	m.CreatedAt, m.UpdatedAt = ts(m.CreatedAt), ts(m.UpdatedAt)
	return m, err
}

// AppendMessage adds m after the conversation's last message. The UPDATE
// that hands out the next seq locks the conversation's row until commit, so
// concurrent appends to one conversation (from any replica) take turns and
// get distinct, increasing seqs.
func (d *DB) AppendMessage(ctx context.Context, m chat.Message) (chat.Message, error) {
	if d.closed.Load() {
		return chat.Message{}, errClosed()
	}
	m, err := store.PrepareMessage(m)
	if err != nil {
		return chat.Message{}, err
	}
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return chat.Message{}, classify(ctx, "begin append", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var seq int64
	err = tx.QueryRow(ctx, `UPDATE conversations
		SET next_seq = next_seq + 1, updated_at = GREATEST(updated_at, $1)
		WHERE id = $2 RETURNING next_seq`, store.Now(), m.ConversationID).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Message{}, store.NotFound("conversation")
	}
	if err != nil {
		return chat.Message{}, classify(ctx, "append message", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO messages (`+msgColumns+`, seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		m.ID, m.ConversationID, string(m.Role), m.Content, string(m.Status), m.Error, m.Model,
		m.PromptTokens, m.OutputTokens, m.FirstTokenMS, m.DurationMS, m.CreatedAt, m.UpdatedAt, seq)
	if err != nil {
		err = classify(ctx, "append message", err)
		if chat.KindOf(err) == chat.KindConflict {
			return chat.Message{}, chat.E(chat.KindConflict, "a message with this id already exists", err)
		}
		return chat.Message{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return chat.Message{}, classify(ctx, "commit append", err)
	}
	return m, nil
}

// UpdateMessage overwrites the mutable fields of m and sets its UpdatedAt.
// m.ID and m.ConversationID identify the message; a message of another
// conversation is KindNotFound.
func (d *DB) UpdateMessage(ctx context.Context, m chat.Message) error {
	if d.closed.Load() {
		return errClosed()
	}
	if !chat.ValidID(m.ID) || !chat.ValidID(m.ConversationID) {
		return store.NotFound("message")
	}
	if err := store.CheckMessageFields(m); err != nil {
		return err
	}
	tag, err := d.pool.Exec(ctx, `UPDATE messages SET
			content = $1, status = $2, error = $3, model = $4,
			prompt_tokens = $5, output_tokens = $6, first_token_ms = $7, duration_ms = $8,
			updated_at = $9
		WHERE id = $10 AND conversation_id = $11`,
		m.Content, string(m.Status), m.Error, m.Model,
		m.PromptTokens, m.OutputTokens, m.FirstTokenMS, m.DurationMS,
		store.Now(), m.ID, m.ConversationID)
	if err != nil {
		return classify(ctx, "update message", err)
	}
	if tag.RowsAffected() == 0 {
		return store.NotFound("message")
	}
	return nil
}

// DeleteMessagesFrom removes messageID and every later message of the
// conversation.
func (d *DB) DeleteMessagesFrom(ctx context.Context, conversationID, messageID string) error {
	if d.closed.Load() {
		return errClosed()
	}
	if !chat.ValidID(conversationID) || !chat.ValidID(messageID) {
		return store.NotFound("message")
	}
	return d.inTx(ctx, "delete messages", func(tx pgx.Tx) error {
		// Lock the conversation first so a concurrent append cannot slip a
		// message in between.
		if err := bump(ctx, tx, conversationID); err != nil {
			return err
		}
		// When messageID is not in this conversation the subquery is NULL
		// and nothing matches; otherwise at least the message itself goes.
		tag, err := tx.Exec(ctx, `DELETE FROM messages WHERE conversation_id = $1
			AND seq >= (SELECT seq FROM messages WHERE id = $2 AND conversation_id = $1)`,
			conversationID, messageID)
		if err != nil {
			return classify(ctx, "delete messages", err)
		}
		if tag.RowsAffected() == 0 {
			return store.NotFound("message")
		}
		return nil
	})
}

// ClearMessages removes every message of the conversation.
func (d *DB) ClearMessages(ctx context.Context, conversationID string) error {
	if d.closed.Load() {
		return errClosed()
	}
	if !chat.ValidID(conversationID) {
		return store.NotFound("conversation")
	}
	return d.inTx(ctx, "clear messages", func(tx pgx.Tx) error {
		if err := bump(ctx, tx, conversationID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM messages WHERE conversation_id = $1`, conversationID); err != nil {
			return classify(ctx, "clear messages", err)
		}
		return nil
	})
}

// inTx runs fn in a transaction, committing only if fn succeeds.
func (d *DB) inTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return classify(ctx, "begin "+what, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	return classify(ctx, "commit "+what, tx.Commit(ctx))
}

// bump records activity on a conversation (locking its row until commit),
// or reports it unknown.
func bump(ctx context.Context, tx pgx.Tx, conversationID string) error {
	tag, err := tx.Exec(ctx, `UPDATE conversations SET updated_at = GREATEST(updated_at, $1) WHERE id = $2`,
		store.Now(), conversationID)
	if err != nil {
		return classify(ctx, "touch conversation", err)
	}
	if tag.RowsAffected() == 0 {
		return store.NotFound("conversation")
	}
	return nil
}
