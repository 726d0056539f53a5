package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-chat/parley/internal/chat"
)

const msgColumns = `id, conversation_id, role, content, status, error, model,
	prompt_tokens, output_tokens, first_token_ms, duration_ms, finish_reason, context_from, parent_id, created_at, updated_at`

func scanMessage(r scanner) (chat.Message, error) {
	var m chat.Message
	err := r.Scan(&m.ID, &m.ConversationID, &m.Role, &m.Content, &m.Status, &m.Error, &m.Model,
		&m.PromptTokens, &m.OutputTokens, &m.FirstTokenMS, &m.DurationMS, &m.FinishReason, &m.ContextFrom, &m.ParentID,
		scanTime(&m.CreatedAt), scanTime(&m.UpdatedAt))
	return m, err
}

// AppendMessage adds m after the conversation's last message, under no
// lease. The UPDATE that hands out the next seq holds the conversation's
// row (PostgreSQL) or the database's write lock (SQLite) until commit, so
// concurrent appends to one conversation, from any process, take turns and
// get distinct, increasing seqs.
func (d owned) AppendMessage(ctx context.Context, m chat.Message) (chat.Message, error) {
	if err := d.ready(); err != nil {
		return chat.Message{}, err
	}
	m, err := PrepareMessage(m)
	if err != nil {
		return chat.Message{}, err
	}
	err = d.inTx(ctx, "append message", func(tx *sql.Tx) error {
		return d.appendIn(ctx, tx, &m, chat.Lease{}, true)
	})
	if err != nil {
		return chat.Message{}, err
	}
	return m, nil
}

// appendIn adds m, prepared, inside tx, held under lease (none when
// lease.Owner is ""): after the last message of the chosen branch when
// atEnd, else after m.ParentID, as the newest and chosen version of that
// turn. It fills in m's ParentID, Version and Versions.
func (d owned) appendIn(ctx context.Context, tx *sql.Tx, m *chat.Message, lease chat.Lease, atEnd bool) error {
	var seq int64
	err := tx.QueryRowContext(ctx, d.q(`UPDATE conversations
		SET next_seq = next_seq + 1, updated_at = `+d.dl.Greatest+`(updated_at, ?)
		WHERE id = ? AND owner_id = ? RETURNING next_seq`), d.now(), m.ConversationID, d.owner).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return NotFound("conversation")
	}
	if err != nil {
		return d.classify(ctx, "append message", err)
	}
	// The conversation's row is held from here on: the branch read next
	// is the one the message joins.
	if atEnd {
		ns, err := d.nodes(ctx, tx, m.ConversationID)
		if err != nil {
			return err
		}
		m.ParentID = ""
		if path := chosenBranch(ns); len(path) > 0 {
			m.ParentID = ns[path[len(path)-1].i].id
		}
	}
	if err := d.unchoose(ctx, tx, m.ConversationID, m.ParentID); err != nil {
		return err
	}
	until, untilArg := d.leaseUntil(lease)
	_, err = tx.ExecContext(ctx, d.q(`INSERT INTO messages (`+msgColumns+`, seq, lease_owner, lease_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, `+until+`)`),
		m.ID, m.ConversationID, string(m.Role), m.Content, string(m.Status), m.Error, m.Model,
		m.PromptTokens, m.OutputTokens, m.FirstTokenMS, m.DurationMS, m.FinishReason, m.ContextFrom, m.ParentID,
		d.dl.Time(m.CreatedAt), d.dl.Time(m.UpdatedAt), seq, lease.Owner, untilArg)
	if err != nil {
		err = d.classify(ctx, "append message", err)
		switch chat.KindOf(err) {
		case chat.KindConflict:
			return chat.E(chat.KindConflict, "a message with this id already exists", err)
		case chat.KindNotFound: // the foreign key to conversations
			return chat.E(chat.KindNotFound, "conversation not found", err)
		}
		return err
	}
	return d.numberVersion(ctx, tx, m)
}

// UpdateMessage overwrites the mutable fields of m and sets its UpdatedAt.
// m.ID and m.ConversationID identify the message; a message of another
// conversation, or of another owner's, is KindNotFound.
func (d owned) UpdateMessage(ctx context.Context, m chat.Message) error {
	if err := d.checkUpdate(m); err != nil {
		return err
	}
	return d.exec(ctx, d.write, "update message", "message",
		`UPDATE messages SET `+msgSet+` WHERE id = ? AND conversation_id = ? AND `+ownedBy,
		append(d.msgSetArgs(m), m.ID, m.ConversationID, m.ConversationID, d.owner)...)
}

// ownedBy, with the arguments conversation id and owner, limits a
// statement on messages to those of the owner's conversation.
const ownedBy = `EXISTS (SELECT 1 FROM conversations c WHERE c.id = ? AND c.owner_id = ?)`

// checkUpdate refuses to write m: on a closed store or without an owner,
// with ids that cannot name a message, or with fields that cannot be
// stored.
func (d owned) checkUpdate(m chat.Message) error {
	if err := d.ready(); err != nil {
		return err
	}
	if !chat.ValidID(m.ID) || !chat.ValidID(m.ConversationID) {
		return NotFound("message")
	}
	return CheckMessageFields(m)
}

// msgSet assigns the mutable fields of a message and its UpdatedAt, from
// the arguments msgSetArgs gives.
const msgSet = `content = ?, status = ?, error = ?, model = ?,
	prompt_tokens = ?, output_tokens = ?, first_token_ms = ?, duration_ms = ?,
	finish_reason = ?, context_from = ?, updated_at = ?`

func (d *DB) msgSetArgs(m chat.Message) []any {
	return []any{m.Content, string(m.Status), m.Error, m.Model,
		m.PromptTokens, m.OutputTokens, m.FirstTokenMS, m.DurationMS, m.FinishReason, m.ContextFrom, d.now()}
}

// DeleteMessagesFrom removes messageID and every later message of the
// conversation.
func (d owned) DeleteMessagesFrom(ctx context.Context, conversationID, messageID string) error {
	if err := d.ready(); err != nil {
		return err
	}
	if !chat.ValidID(conversationID) || !chat.ValidID(messageID) {
		return NotFound("message")
	}
	return d.inTx(ctx, "delete messages", func(tx *sql.Tx) error {
		if err := d.touch(ctx, tx, conversationID); err != nil {
			return err
		}
		if err := d.refuseRunning(ctx, tx, conversationID); err != nil {
			return err
		}
		return d.deleteFrom(ctx, tx, conversationID, messageID)
	})
}

// ClearMessages removes every message of the conversation.
func (d owned) ClearMessages(ctx context.Context, conversationID string) error {
	if err := d.ready(); err != nil {
		return err
	}
	if !chat.ValidID(conversationID) {
		return NotFound("conversation")
	}
	return d.inTx(ctx, "clear messages", func(tx *sql.Tx) error {
		if err := d.touch(ctx, tx, conversationID); err != nil {
			return err
		}
		if err := d.refuseRunning(ctx, tx, conversationID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, d.q(`DELETE FROM messages WHERE conversation_id = ?`), conversationID); err != nil {
			return d.classify(ctx, "clear messages", err)
		}
		return nil
	})
}
