package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/parley-chat/parley/internal/chat"
)

// This file is the store's side of versions: a conversation's messages
// form a tree (parent_id), each turn's versions are the children of one
// parent, and one of them is chosen (chosen = 1). What a conversation
// shows, and what the model is sent, is its chosen branch: from the first
// message, at each turn the chosen version. The branch is worked out here
// in Go from the (id, parent, chosen) of the conversation's messages,
// which both databases read alike.

// node is a message as the tree sees it.
type node struct {
	id, parent string
	chosen     bool
}

// step is one message of the chosen branch: its index in the nodes, and
// its place among the versions of its turn.
type step struct {
	i                 int
	version, versions int
}

// nodes reads the tree of a conversation, in seq order (oldest first).
func (d *DB) nodes(ctx context.Context, q queryer, conversationID string) ([]node, error) {
	return list(ctx, d, q, "read message tree", func(r scanner) (node, error) {
		var n node
		var chosen int
		err := r.Scan(&n.id, &n.parent, &chosen)
		n.chosen = chosen != 0
		return n, err
	}, `SELECT id, parent_id, chosen FROM messages WHERE conversation_id = ? ORDER BY seq`, conversationID)
}

// chosenBranch follows the chosen versions from the first turn on. A turn
// with no version marked chosen (it cannot happen through the store, but
// rows may be edited by hand) shows its newest.
func chosenBranch(ns []node) []step {
	kids := make(map[string][]int, len(ns))
	for i, n := range ns {
		kids[n.parent] = append(kids[n.parent], i)
	}
	var path []step
	parent := ""
	for len(path) < len(ns) { // a cycle cannot be longer than every node
		ks := kids[parent]
		if len(ks) == 0 {
			break
		}
		pick := len(ks) - 1
		for j, k := range ks {
			if ns[k].chosen {
				pick = j
			}
		}
		st := step{i: ks[pick]}
		if len(ks) > 1 {
			st.version, st.versions = pick+1, len(ks)
		}
		path = append(path, st)
		parent = ns[st.i].id
	}
	return path
}

// branchOf keeps of ms, a conversation's messages in seq order with
// chosen[i] telling whether ms[i] is its turn's chosen version, the chosen
// branch, with Version and Versions filled in.
func branchOf(ms []chat.Message, chosen []bool) []chat.Message {
	ns := make([]node, len(ms))
	for i, m := range ms {
		ns[i] = node{id: m.ID, parent: m.ParentID, chosen: chosen[i]}
	}
	path := chosenBranch(ns)
	out := make([]chat.Message, 0, len(path))
	for _, st := range path {
		m := ms[st.i]
		m.Version, m.Versions = st.version, st.versions
		out = append(out, m)
	}
	return out
}

// unchoose marks every version of the turn after parent not chosen, ahead
// of adding the one that will be.
func (d *DB) unchoose(ctx context.Context, tx *sql.Tx, conversationID, parent string) error {
	_, err := tx.ExecContext(ctx, d.q(`UPDATE messages SET chosen = 0 WHERE conversation_id = ? AND parent_id = ? AND chosen = 1`),
		conversationID, parent)
	return d.classify(ctx, "choose version", err)
}

// numberVersion fills in Version and Versions of m, just added as the
// newest version of its turn.
func (d *DB) numberVersion(ctx context.Context, tx *sql.Tx, m *chat.Message) error {
	var n int
	err := tx.QueryRowContext(ctx, d.q(`SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND parent_id = ?`),
		m.ConversationID, m.ParentID).Scan(&n)
	if err != nil {
		return d.classify(ctx, "count versions", err)
	}
	m.Version, m.Versions = 0, 0
	if n > 1 {
		m.Version, m.Versions = n, n
	}
	return nil
}

// parentOf returns the parent of message id of the conversation, or
// NotFound.
func (d *DB) parentOf(ctx context.Context, tx *sql.Tx, conversationID, id string) (string, error) {
	var parent string
	err := tx.QueryRowContext(ctx, d.q(`SELECT parent_id FROM messages WHERE id = ? AND conversation_id = ?`), id, conversationID).Scan(&parent)
	if errors.Is(err, sql.ErrNoRows) {
		return "", NotFound("message")
	}
	if err != nil {
		return "", d.classify(ctx, "read message", err)
	}
	return parent, nil
}

// deleteFrom removes the turn of messageID, every version of it, and
// everything that follows any of them, inside tx.
func (d *DB) deleteFrom(ctx context.Context, tx *sql.Tx, conversationID, messageID string) error {
	ns, err := d.nodes(ctx, tx, conversationID)
	if err != nil {
		return err
	}
	parent, found := "", false
	kids := make(map[string][]string, len(ns))
	for _, n := range ns {
		kids[n.parent] = append(kids[n.parent], n.id)
		if n.id == messageID {
			parent, found = n.parent, true
		}
	}
	if !found {
		return NotFound("message")
	}
	var gone []string
	queue := append([]string(nil), kids[parent]...)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		gone = append(gone, id)
		queue = append(queue, kids[id]...)
	}
	// In chunks, within every driver's limit on parameters.
	for len(gone) > 0 {
		n := min(len(gone), 500)
		args := []any{conversationID}
		for _, id := range gone[:n] {
			args = append(args, id)
		}
		if _, err := tx.ExecContext(ctx, d.q(`DELETE FROM messages WHERE conversation_id = ? AND id IN (?`+strings.Repeat(`, ?`, n-1)+`)`), args...); err != nil {
			return d.classify(ctx, "delete messages", err)
		}
		gone = gone[n:]
	}
	return nil
}

// SelectVersion chooses version (from 1) of the turn of messageID.
func (d owned) SelectVersion(ctx context.Context, conversationID, messageID string, version int) error {
	if err := d.ready(); err != nil {
		return err
	}
	if !chat.ValidID(conversationID) || !chat.ValidID(messageID) {
		return NotFound("message")
	}
	return d.inTx(ctx, "choose version", func(tx *sql.Tx) error {
		if err := d.touch(ctx, tx, conversationID); err != nil {
			return err
		}
		if err := d.refuseRunning(ctx, tx, conversationID); err != nil {
			return err
		}
		parent, err := d.parentOf(ctx, tx, conversationID, messageID)
		if err != nil {
			return err
		}
		ids, err := list(ctx, d.DB, tx, "read versions", func(r scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		}, `SELECT id FROM messages WHERE conversation_id = ? AND parent_id = ? ORDER BY seq`, conversationID, parent)
		if err != nil {
			return err
		}
		if version < 1 || version > len(ids) {
			return &chat.Error{Kind: chat.KindInvalid, Code: chat.CodeNoSuchVersion,
				Message: "this message has no such version"}
		}
		_, err = tx.ExecContext(ctx, d.q(`UPDATE messages SET chosen = CASE WHEN id = ? THEN 1 ELSE 0 END
			WHERE conversation_id = ? AND parent_id = ?`), ids[version-1], conversationID, parent)
		return d.classify(ctx, "choose version", err)
	})
}
