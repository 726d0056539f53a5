package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
)

const msgColumns = `id, conversation_id, role, content, status, error, model,
	prompt_tokens, output_tokens, first_token_ms, duration_ms, created_at, updated_at`

func scanMessage(r scanner) (chat.Message, error) {
	var m chat.Message
	var created, updated int64
	err := r.Scan(&m.ID, &m.ConversationID, &m.Role, &m.Content, &m.Status, &m.Error, &m.Model,
		&m.PromptTokens, &m.OutputTokens, &m.FirstTokenMS, &m.DurationMS, &created, &updated)
	m.CreatedAt, m.UpdatedAt = ms(created), ms(updated)
	return m, err
}

// AppendMessage adds m after the conversation's last message. Taking the
// next seq and inserting happen in one write transaction; since all writes
// share one connection, concurrent appends queue instead of colliding.
func (d *DB) AppendMessage(ctx context.Context, m chat.Message) (chat.Message, error) {
	if d.closed.Load() {
		return chat.Message{}, errClosed()
	}
	m, err := store.PrepareMessage(m)
	if err != nil {
		return chat.Message{}, err
	}
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return chat.Message{}, classify(ctx, "begin append", err)
	}
	defer tx.Rollback()
	var seq int64
	err = tx.QueryRowContext(ctx, `UPDATE conversations
		SET next_seq = next_seq + 1, updated_at = MAX(updated_at, ?)
		WHERE id = ? RETURNING next_seq`, now().UnixMilli(), m.ConversationID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Message{}, store.NotFound("conversation")
	}
	if err != nil {
		return chat.Message{}, classify(ctx, "append message", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO messages (`+msgColumns+`, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.ConversationID, string(m.Role), m.Content, string(m.Status), m.Error, m.Model,
		m.PromptTokens, m.OutputTokens, m.FirstTokenMS, m.DurationMS,
		m.CreatedAt.UnixMilli(), m.UpdatedAt.UnixMilli(), seq)
	if err != nil {
		err = classify(ctx, "append message", err)
		if chat.KindOf(err) == chat.KindConflict {
			return chat.Message{}, chat.E(chat.KindConflict, "a message with this id already exists", err)
		}
		return chat.Message{}, err
	}
	if err := tx.Commit(); err != nil {
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
	res, err := d.write.ExecContext(ctx, `UPDATE messages SET
			content = ?, status = ?, error = ?, model = ?,
			prompt_tokens = ?, output_tokens = ?, first_token_ms = ?, duration_ms = ?,
			updated_at = ?
		WHERE id = ? AND conversation_id = ?`,
		m.Content, string(m.Status), m.Error, m.Model,
		m.PromptTokens, m.OutputTokens, m.FirstTokenMS, m.DurationMS,
		now().UnixMilli(), m.ID, m.ConversationID)
	if err != nil {
		return classify(ctx, "update message", err)
	}
	return mustAffect(ctx, res, "message")
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
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return classify(ctx, "begin delete messages", err)
	}
	defer tx.Rollback()
	// When messageID is not in this conversation the subquery is NULL and
	// nothing matches; otherwise at least the message itself goes.
	res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = ?1
		AND seq >= (SELECT seq FROM messages WHERE id = ?2 AND conversation_id = ?1)`,
		conversationID, messageID)
	if err != nil {
		return classify(ctx, "delete messages", err)
	}
	if err := mustAffect(ctx, res, "message"); err != nil {
		return err
	}
	if err := bump(ctx, tx, conversationID); err != nil {
		return err
	}
	return classify(ctx, "commit delete messages", tx.Commit())
}

// ClearMessages removes every message of the conversation.
func (d *DB) ClearMessages(ctx context.Context, conversationID string) error {
	if d.closed.Load() {
		return errClosed()
	}
	if !chat.ValidID(conversationID) {
		return store.NotFound("conversation")
	}
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return classify(ctx, "begin clear messages", err)
	}
	defer tx.Rollback()
	if err := bump(ctx, tx, conversationID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = ?`, conversationID); err != nil {
		return classify(ctx, "clear messages", err)
	}
	return classify(ctx, "commit clear messages", tx.Commit())
}

// bump records activity on a conversation, or reports it unknown.
func bump(ctx context.Context, tx *sql.Tx, conversationID string) error {
	res, err := tx.ExecContext(ctx, `UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?`,
		now().UnixMilli(), conversationID)
	if err != nil {
		return classify(ctx, "touch conversation", err)
	}
	return mustAffect(ctx, res, "conversation")
}
