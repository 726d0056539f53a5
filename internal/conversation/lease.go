package conversation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// This file keeps running replies in the store: the lease a process holds
// on each reply it generates, the saves that renew it as the reply grows,
// the final save (retried while the database is away), and the sweep that
// ends replies whose process is gone.

// errLeaseLost ends a run whose reply another process has ended, after
// this one held it past its lease (it was paused, or cut off from the
// database).
var errLeaseLost = errors.New("the reply's lease was lost")

// interruptedText is the error of a reply ended because its lease ran out.
const interruptedText = "the reply was interrupted: the server generating it stopped before it finished"

// unsavedText is the error of a reply whose final state could not be
// stored; its clients keep the text they were sent.
const unsavedText = "the reply could not be saved: the database is unavailable"

// Bounds of single store calls made in the background.
const (
	finalSaveTimeout = 10 * time.Second // the final save retries at least this long
	storeCallTimeout = 5 * time.Second  // one attempt
)

// newOwner makes this process's lease owner id: readable in the database
// (host and pid) and unique (random).
func newOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

func (s *Service) lease() chat.Lease { return chat.Lease{Owner: s.cfg.Owner, TTL: s.cfg.ReplyLease} }

// keep saves r in the background while it grows, so that generation never
// waits for the database: text reaches the store at most SaveInterval (or
// SaveTokens pieces) after it reached the followers, and a save every
// third of the lease renews it when no text comes. A save refused because
// the lease is lost, or the reply is gone, ends the run. stop ends keep
// and waits for it.
func (s *Service) keep(r *Run) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	stored := len(r.Snapshot().Content) // a continued reply's text is stored
	go func() {
		defer close(done)
		s.keepSaved(ctx, r, stored)
	}()
	return func() { cancel(); <-done }
}

func (s *Service) keepSaved(ctx context.Context, r *Run, stored int) {
	lease := s.lease()
	renew := s.cfg.ReplyLease / 3
	saved, savedPieces := stored, 0 // as StartReply stored it
	lastWrite := time.Now()         // and took the lease
	var dirtySince, retryAt time.Time
	failing := false
	timer := time.NewTimer(renew)
	defer timer.Stop()
	for {
		msg, pieces, changed := r.progress()
		now := time.Now()
		due := lastWrite.Add(renew)
		if len(msg.Content) > saved {
			if dirtySince.IsZero() {
				dirtySince = now
			}
			due = earliest(due, dirtySince.Add(s.cfg.SaveInterval))
			if pieces-savedPieces >= s.cfg.SaveTokens {
				due = now
			}
		}
		if due.Before(retryAt) {
			due = retryAt
		}
		if now.Before(due) {
			timer.Reset(due.Sub(now))
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-timer.C:
			}
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
		err := r.convs.SaveReply(sctx, msg, lease)
		cancel()
		switch {
		case err == nil:
			if failing {
				s.log.Info("saving the streaming reply again", "message_id", msg.ID)
				failing = false
			}
			// Text that arrived while saving is unsaved since the snapshot.
			saved, savedPieces, lastWrite, retryAt, dirtySince = len(msg.Content), pieces, time.Now(), time.Time{}, time.Time{}
			if m, _, _ := r.progress(); len(m.Content) > saved {
				dirtySince = now
			}
		case ctx.Err() != nil:
			return
		case chat.CodeOf(err) == chat.CodeLeaseLost:
			s.log.Warn("reply lost its lease; another server ended it", "message_id", msg.ID)
			r.cancel(errLeaseLost)
			return
		case chat.KindOf(err) == chat.KindNotFound:
			r.cancel(errDeleted) // its conversation was deleted elsewhere
			return
		default:
			if !failing {
				s.log.Warn("save streaming reply; will retry", "message_id", msg.ID, "err", err)
				failing = true
			}
			retryAt = time.Now().Add(s.cfg.SaveInterval)
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// saveFinal stores the reply's final state m, which ended with runErr, in
// convs (its owner's conversations), and
// returns what its followers are to be told: m as stored, or what the
// store holds instead. A failed save is retried with backoff (the
// database may come back) until deadline (the reply's time limit; a reply
// that ran into it gets up to finalSaveTimeout more), or until shutdown
// stops waiting; if it never succeeds the reply is reported failed as
// "could not be saved" (its followers keep the text they were sent),
// never as complete.
func (s *Service) saveFinal(convs chat.Conversations, m chat.Message, runErr error, deadline time.Time) (chat.Message, error) {
	deadline = later(deadline, time.Now().Add(min(finalSaveTimeout, s.cfg.ReplyTimeout)))
	pause := 100 * time.Millisecond
	var err error
	for attempt := 1; ; attempt++ {
		// Each attempt gets its full time, also after shutdown stopped
		// waiting: that only ends the retries.
		ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout)
		err = convs.SaveReply(ctx, m, s.lease())
		cancel()
		switch {
		case err == nil:
			if attempt > 1 {
				s.log.Info("saved final reply after retrying", "message_id", m.ID, "attempts", attempt)
			}
			return m, runErr
		case chat.CodeOf(err) == chat.CodeLeaseLost:
			return s.lostReply(convs, m)
		case chat.KindOf(err) == chat.KindNotFound:
			// Its conversation was deleted or cleared elsewhere meanwhile:
			// there is nothing left to store it in.
			return m, runErr
		}
		if attempt == 1 {
			s.log.Warn("save final reply; retrying", "message_id", m.ID, "status", m.Status, "err", err)
		}
		if time.Now().Add(pause).After(deadline) || s.runs.hard.Err() != nil {
			break
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-s.runs.hard.Done():
		}
		t.Stop()
		pause = min(2*pause, 2*time.Second)
	}
	s.log.Error("save final reply: giving up", "message_id", m.ID, "status", m.Status, "err", err)
	m.Status, m.Error, m.FinishReason = chat.StatusFailed, unsavedText, string(chat.StatusFailed)
	return m, chat.E(chat.KindUnavailable, unsavedText, err)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// lostReply is what the followers of a reply that lost its lease are
// told: the reply as the process that ended it stored it.
func (s *Service) lostReply(convs chat.Conversations, m chat.Message) (chat.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout)
	defer cancel()
	c, err := convs.GetConversation(ctx, m.ConversationID)
	if chat.KindOf(err) == chat.KindNotFound {
		m.Status, m.Error, m.FinishReason = chat.StatusStopped, "", string(chat.StatusStopped)
		return m, nil
	}
	if err == nil {
		if i := indexOf(c.Messages, m.ID); i >= 0 {
			stored := c.Messages[i]
			return stored, chat.E(chat.KindUnavailable, stored.Error, errLeaseLost)
		}
		m.Status, m.Error, m.FinishReason = chat.StatusStopped, "", string(chat.StatusStopped)
		return m, nil
	}
	m.Status, m.Error, m.FinishReason = chat.StatusFailed, unsavedText, string(chat.StatusFailed)
	return m, chat.E(chat.KindUnavailable, unsavedText, err)
}

// sweep ends, every SweepInterval from now until ctx ends, the replies
// whose lease ran out: their process is gone (killed, crashed, cut off).
// The first sweep at start-up catches what a crash of this process left.
// It sweeps at least once per lease, so that a short lease (a few
// seconds) means a dead replica's reply ends within a few seconds even
// where nobody reads its conversation.
func (s *Service) sweep(ctx context.Context) {
	t := time.NewTicker(min(s.cfg.SweepInterval, s.cfg.ReplyLease))
	defer t.Stop()
	for {
		s.interruptExpired(ctx, "")
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// interruptExpired ends the replies of a conversation ("": of all) whose
// lease ran out, sparing those this process runs (it knows better than
// their lease), and reports whether it ended any.
func (s *Service) interruptExpired(ctx context.Context, conversationID string) bool {
	ctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
	defer cancel()
	ended, err := s.store.InterruptExpired(ctx, conversationID, interruptedText, s.runs.messageIDs())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("end replies whose lease ran out", "err", err)
		}
		return false
	}
	for _, m := range ended {
		s.log.Warn("reply interrupted: its lease ran out", "conversation_id", m.ConversationID, "message_id", m.ID)
	}
	s.metrics.interrupted(len(ended))
	return len(ended) > 0
}
