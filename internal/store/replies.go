package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// This file is the store's side of running replies: the lease a process
// holds on the reply it generates (lease_owner, lease_until), the
// conditional writes that keep a process that lost its lease from
// overwriting what another one decided, and the sweep that ends replies
// whose lease ran out. Leases are timed by the database's clock
// (Dialect.Now).

// noLease is lease_until of a message no process holds.
var noLease = time.UnixMilli(0).UTC()

// leaseUntil returns the SQL for a new lease_until and its argument: Now
// plus lease.TTL, or no lease when lease.Owner is "".
func (d *DB) leaseUntil(lease chat.Lease) (string, any) {
	if lease.Owner == "" {
		return "?", d.dl.Time(noLease)
	}
	return d.dl.NowPlus, lease.TTL.Milliseconds()
}

func checkLease(lease chat.Lease) error {
	if lease.Owner == "" || lease.TTL < time.Millisecond {
		return chat.Errorf(chat.KindInvalid, "a reply's lease needs an owner and a TTL of at least 1ms")
	}
	return checkText("lease owner", lease.Owner)
}

// refuseRunning fails with CodeReplyRunning while a reply of the
// conversation streams under a lease that has not run out. It runs in a
// write transaction that has already written the conversation's row
// (touch, appendIn), which holds that row (PostgreSQL) or the database
// (SQLite) until commit, so processes checking at once take turns.
func (d *DB) refuseRunning(ctx context.Context, tx *sql.Tx, conversationID string) error {
	var n int
	err := tx.QueryRowContext(ctx, d.q(`SELECT COUNT(*) FROM messages
		WHERE conversation_id = ? AND status = 'streaming' AND lease_until > `+d.dl.Now), conversationID).Scan(&n)
	if err != nil {
		return d.classify(ctx, "check for a running reply", err)
	}
	if n > 0 {
		return &chat.Error{Kind: chat.KindConflict, Code: chat.CodeReplyRunning,
			Message: "a reply is being generated in this conversation; stop it first"}
	}
	return nil
}

// StartReply removes r.From and what follows it, appends r.User and
// r.Reply under r.Lease, all in one transaction, unless another reply of
// the conversation streams under a live lease.
func (d owned) StartReply(ctx context.Context, r chat.NewReply) (*chat.Message, chat.Message, error) {
	if err := d.ready(); err != nil {
		return nil, chat.Message{}, err
	}
	if !chat.ValidID(r.ConversationID) {
		return nil, chat.Message{}, NotFound("conversation")
	}
	if r.From != "" && !chat.ValidID(r.From) {
		return nil, chat.Message{}, NotFound("message")
	}
	if err := checkLease(r.Lease); err != nil {
		return nil, chat.Message{}, err
	}
	if r.Continue != "" {
		return d.continueReply(ctx, r)
	}
	var user *chat.Message
	if r.User != nil {
		u := *r.User
		u.ConversationID = r.ConversationID
		u, err := PrepareMessage(u)
		if err != nil {
			return nil, chat.Message{}, err
		}
		user = &u
	}
	reply := r.Reply
	reply.ConversationID, reply.Status = r.ConversationID, chat.StatusStreaming
	reply, err := PrepareMessage(reply)
	if err != nil {
		return nil, chat.Message{}, err
	}
	err = d.inTx(ctx, "start reply", func(tx *sql.Tx) error {
		if err := d.touch(ctx, tx, r.ConversationID); err != nil {
			return err
		}
		if err := d.refuseRunning(ctx, tx, r.ConversationID); err != nil {
			return err
		}
		// A new version of r.From's turn follows r.From's parent; r.From
		// and what follows it stay, no longer chosen.
		parent, atEnd := "", true
		if r.From != "" {
			p, err := d.parentOf(ctx, tx, r.ConversationID, r.From)
			if err != nil {
				return err
			}
			parent, atEnd = p, false
		}
		if user != nil {
			user.ParentID = parent
			if err := d.appendIn(ctx, tx, user, chat.Lease{}, atEnd); err != nil {
				return err
			}
			parent, atEnd = user.ID, false
		}
		reply.ParentID = parent
		return d.appendIn(ctx, tx, &reply, r.Lease, atEnd)
	})
	if err != nil {
		return nil, chat.Message{}, err
	}
	return user, reply, nil
}

// continueReply is StartReply with r.Continue: the conversation's last
// message, a reply that has ended, streams again under r.Lease.
func (d owned) continueReply(ctx context.Context, r chat.NewReply) (*chat.Message, chat.Message, error) {
	if r.From != "" || r.User != nil {
		return nil, chat.Message{}, chat.Errorf(chat.KindInvalid, "a continued reply neither replaces messages nor adds one")
	}
	if !chat.ValidID(r.Continue) {
		return nil, chat.Message{}, NotFound("message")
	}
	var reply chat.Message
	err := d.inTx(ctx, "continue reply", func(tx *sql.Tx) error {
		if err := d.touch(ctx, tx, r.ConversationID); err != nil {
			return err
		}
		if err := d.refuseRunning(ctx, tx, r.ConversationID); err != nil {
			return err
		}
		// The last message of the chosen branch is the one to continue.
		ns, err := d.nodes(ctx, tx, r.ConversationID)
		if err != nil {
			return err
		}
		path, last := chosenBranch(ns), ""
		if len(path) > 0 {
			st := path[len(path)-1]
			last = ns[st.i].id
			reply.Version, reply.Versions = st.version, st.versions
		}
		version, versions := reply.Version, reply.Versions
		reply, err = scanMessage(tx.QueryRowContext(ctx, d.q(`UPDATE messages
			SET status = 'streaming', error = '', finish_reason = '', updated_at = ?, lease_owner = ?, lease_until = `+d.dl.NowPlus+`
			WHERE id = ? AND conversation_id = ? AND role = 'assistant'
				AND status IN ('complete', 'stopped', 'failed', 'interrupted')
				AND id = ?
			RETURNING `+msgColumns),
			d.now(), r.Lease.Owner, r.Lease.TTL.Milliseconds(), r.Continue, r.ConversationID, last))
		reply.Version, reply.Versions = version, versions
		if !errors.Is(err, sql.ErrNoRows) {
			return d.classify(ctx, "continue reply", err)
		}
		// Nothing matched: tell a message that is not there from one that
		// cannot be continued.
		var one int
		err = tx.QueryRowContext(ctx, d.q(`SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?`),
			r.Continue, r.ConversationID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return NotFound("message")
		case err != nil:
			return d.classify(ctx, "continue reply", err)
		}
		return &chat.Error{Kind: chat.KindInvalid, Code: chat.CodeNotContinuable,
			Message: "only the last reply of a conversation can be continued, once it has ended"}
	})
	if err != nil {
		return nil, chat.Message{}, err
	}
	return nil, reply, nil
}

// SaveReply writes m while it streams under lease.Owner, renewing the
// lease, or ending it when m's status is final.
func (d owned) SaveReply(ctx context.Context, m chat.Message, lease chat.Lease) error {
	if err := d.checkUpdate(m); err != nil {
		return err
	}
	if err := checkLease(lease); err != nil {
		return err
	}
	owner, until, untilArg := lease.Owner, "", any(nil)
	if m.Status == chat.StatusStreaming {
		until, untilArg = d.leaseUntil(lease)
	} else {
		owner, until, untilArg = "", "?", d.dl.Time(noLease)
	}
	res, err := d.write.ExecContext(ctx, d.q(`UPDATE messages SET `+msgSet+`, lease_owner = ?, lease_until = `+until+`
		WHERE id = ? AND conversation_id = ? AND status = 'streaming' AND lease_owner = ? AND `+ownedBy),
		append(d.msgSetArgs(m), owner, untilArg, m.ID, m.ConversationID, lease.Owner, m.ConversationID, d.owner)...)
	if err != nil {
		return d.classify(ctx, "save reply", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return d.classify(ctx, "save reply", err)
	}
	if n > 0 {
		return nil
	}
	// Nothing matched: tell a message that is gone from one held no more.
	var one int
	err = d.write.QueryRowContext(ctx, d.q(`SELECT 1 FROM messages WHERE id = ? AND conversation_id = ? AND `+ownedBy),
		m.ID, m.ConversationID, m.ConversationID, d.owner).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return NotFound("message")
	case err != nil:
		return d.classify(ctx, "save reply", err)
	}
	return &chat.Error{Kind: chat.KindConflict, Code: chat.CodeLeaseLost,
		Message: "the reply is no longer held by this process"}
}

// InterruptExpired ends the replies whose lease ran out, in one
// conditional UPDATE: a reply renewed or ended meanwhile no longer
// matches, and of sweepers racing for one reply only the first finds it.
func (d *DB) InterruptExpired(ctx context.Context, conversationID, errText string, spare []string) ([]chat.Message, error) {
	if d.closed.Load() {
		return nil, d.dl.Closed()
	}
	if err := checkText("error", errText); err != nil {
		return nil, err
	}
	query := `UPDATE messages SET status = 'interrupted', finish_reason = 'interrupted', error = ?,
		lease_owner = '', lease_until = ?, updated_at = ?
		WHERE status = 'streaming' AND lease_until <= ` + d.dl.Now
	args := []any{errText, d.dl.Time(noLease), d.now()}
	if conversationID != "" {
		if !chat.ValidID(conversationID) {
			return nil, NotFound("conversation")
		}
		query += ` AND conversation_id = ?`
		args = append(args, conversationID)
	}
	if len(spare) > 0 {
		query += ` AND id NOT IN (?` + strings.Repeat(`, ?`, len(spare)-1) + `)`
		for _, id := range spare {
			args = append(args, id)
		}
	}
	return list(ctx, d, d.write, "interrupt expired replies", func(r scanner) (chat.Message, error) {
		var m chat.Message
		err := r.Scan(&m.ID, &m.ConversationID)
		return m, err
	}, query+` RETURNING id, conversation_id`, args...)
}
