package conversation

import (
	"context"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// This file carries running replies between the replicas of the api. The
// replica that runs a reply appends it to the reply's log in the Relay as
// it grows: a start event (the reply as stored when the run began), its
// text in pieces, each with its byte offset, and a done event with the
// reply as stored at its end, appended only once it is stored. Any other
// replica shows the reply to a client from that log: the text so far,
// then the pieces as they come, then done, with neither gaps nor
// repeats (the offsets tell). A stop asked of another replica is sent to
// all of them; the one running the reply stops it, and the asker answers
// once the done event says the stopped reply is stored.
//
// Without a Relay, a reply that another replica runs can be neither
// followed nor stopped from here: both answer CodeReplyElsewhere, never
// a silent "nothing runs".

// Relay is the log of running replies shared by the api's replicas, and
// the way stop requests travel between them. internal/conversation/relay
// keeps it in Redis.
type Relay interface {
	// Append adds evs, in order, to the end of the log of reply messageID.
	Append(ctx context.Context, messageID string, evs ...RelayEvent) error
	// Read returns the events of reply messageID's log after the one at
	// position after ("": from its beginning). With block > 0 it waits up
	// to block for one to come; no events and no error mean none came.
	Read(ctx context.Context, messageID, after string, block time.Duration) ([]RelayEvent, error)
	// RequestStop asks every replica to stop req's reply.
	RequestStop(ctx context.Context, req StopRequest) error
	// ListenStops calls handle with every stop request until ctx ends.
	ListenStops(ctx context.Context, handle func(StopRequest)) error
}

// Kinds of RelayEvent.
const (
	RelayStart = "start"
	RelayDelta = "delta"
	RelayDone  = "done"
)

// RelayEvent is one entry of a reply's log.
type RelayEvent struct {
	// Pos is the event's position in its log (set by Read).
	Pos string
	// Kind is RelayStart, RelayDelta or RelayDone.
	Kind string
	// Run names the run that wrote it: a continued reply runs again, and
	// its log then holds each run after the other.
	Run string
	// At is a delta's byte offset in the reply's content, Text its text.
	At   int
	Text string
	// Message is the reply as stored when the run began (start) or ended
	// (done).
	Message *chat.Message
}

// StopRequest asks for the running reply MessageID of Owner's
// conversation to be stopped. The replica running it checks all three,
// so that a request can stop only the reply it names, and only its
// owner's (the asking replica has checked who asks).
type StopRequest struct {
	Owner          string `json:"owner"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
}

// CodeReplyElsewhere: the reply runs on another replica, which this one
// cannot reach (no Redis configured, or it is down, or the replica
// running the reply does not publish it).
const CodeReplyElsewhere = "reply_elsewhere"

func errElsewhere() error {
	return &chat.Error{Kind: chat.KindUnavailable, Code: CodeReplyElsewhere,
		Message: "the reply is being written by another server of this service, which this one cannot reach; reload the conversation once it has ended"}
}

// Timings of the relay. A reply's start event is appended right after
// its placeholder is stored; a replica that reads the reply streaming in
// the store waits this long for it before saying the reply is elsewhere.
const (
	relayStartWait   = 3 * time.Second
	relayCallTimeout = 2 * time.Second        // one append
	relayRetry       = 500 * time.Millisecond // after a failed append or read
	relayFinalWait   = 5 * time.Second        // how long the done event is retried
	relayRestop      = 500 * time.Millisecond // a stop request is sent again this often until done
)

// publish appends run r's reply to its log, from start (the reply as
// stored when the run began) to its end. It follows the run as a client
// does, so generation never waits for it: text that arrives while an
// append is under way goes into the next one. An append that fails is
// retried with everything since; the done event is given up after
// relayFinalWait (the reply is stored: replicas following it find it
// ended in the store).
func (s *Service) publish(r *Run, start chat.Message) {
	rl := s.cfg.Relay
	run := chat.NewID()
	var pending []RelayEvent
	pending = append(pending, RelayEvent{Kind: RelayStart, Run: run, Message: &start})
	offset := len(start.Content)
	failing := false
	var finalSince time.Time
	for {
		msg, _, changed := r.progress()
		if len(msg.Content) > offset {
			pending = append(pending, RelayEvent{Kind: RelayDelta, Run: run, At: offset, Text: msg.Content[offset:]})
			offset = len(msg.Content)
		}
		final := msg.Status.Final()
		if final && finalSince.IsZero() {
			m := msg
			pending = append(pending, RelayEvent{Kind: RelayDone, Run: run, Message: &m})
			finalSince = time.Now()
		}
		ctx, cancel := context.WithTimeout(context.Background(), relayCallTimeout)
		err := rl.Append(ctx, start.ID, pending...)
		cancel()
		switch {
		case err == nil:
			pending = pending[:0]
			if failing {
				s.log.Info("publishing the running reply again", "message_id", start.ID)
				failing = false
			}
			if final {
				return
			}
			<-changed
		case final && time.Since(finalSince) > relayFinalWait:
			s.log.Warn("could not publish the end of the reply; other replicas find it in the database", "message_id", start.ID, "err", err)
			return
		default:
			if !failing {
				s.log.Warn("publish the running reply; will retry", "message_id", start.ID, "err", err)
				failing = true
			}
			time.Sleep(relayRetry)
		}
	}
}

// replyLog is a reply as its log in the relay shows it: the latest run's
// text so far, whether that run is done, and the position read up to.
type replyLog struct {
	pos  string
	run  string // "" until a start event is read
	msg  chat.Message
	done bool
}

// apply adds ev to the log; it reports whether ev began a new run.
func (l *replyLog) apply(ev RelayEvent) (newRun bool) {
	if ev.Pos != "" {
		l.pos = ev.Pos
	}
	switch {
	case ev.Kind == RelayStart && ev.Message != nil:
		l.run, l.msg, l.done = ev.Run, *ev.Message, false
		return true
	case ev.Run != l.run || l.done:
	case ev.Kind == RelayDelta:
		// A piece appended twice (an append that failed after Redis took
		// it) overlaps what is there: only what is new is added.
		if end := ev.At + len(ev.Text); ev.At <= len(l.msg.Content) && end > len(l.msg.Content) {
			l.msg.Content += ev.Text[len(l.msg.Content)-ev.At:]
		}
	case ev.Kind == RelayDone && ev.Message != nil:
		l.msg, l.done = *ev.Message, true
	}
	return false
}

// live reports whether the log shows a run that has not ended.
func (l *replyLog) live() bool { return l.run != "" && !l.done }

// streamingElsewhereReply returns the reply of c that streams in the
// store but not in this process (ids local).
func streamingElsewhereReply(c chat.Conversation, local string) (chat.Message, bool) {
	for _, m := range c.Messages {
		if m.Status == chat.StatusStreaming && m.ID != local {
			return m, true
		}
	}
	return chat.Message{}, false
}

// stored returns reply m as owner's store holds it now, ending it first
// if its lease ran out; found is false when it is gone.
func (s *Service) stored(ctx context.Context, owner string, m chat.Message) (msg chat.Message, found bool, err error) {
	c, _, err := s.current(ctx, owner, m.ConversationID)
	if err != nil {
		return chat.Message{}, false, err
	}
	if i := indexOf(c.Messages, m.ID); i >= 0 {
		return c.Messages[i], true, nil
	}
	return chat.Message{}, false, nil
}

// followElsewhere returns a run that mirrors reply m of owner, which
// streams in the store and runs on another replica, from its log in the
// relay: the text so far, then the rest as it comes, until the reply
// ends or ctx does. It returns nil when the reply has ended meanwhile.
// The mirror's goroutine belongs to ctx (the request that follows).
func (s *Service) followElsewhere(ctx context.Context, owner string, m chat.Message) (*Run, error) {
	rl := s.cfg.Relay
	if rl == nil {
		return nil, errElsewhere()
	}
	var lg replyLog
	evs, err := rl.Read(ctx, m.ID, "", 0)
	if err != nil {
		s.log.Warn("read a reply's log", "message_id", m.ID, "err", err)
		return nil, errElsewhere()
	}
	for _, ev := range evs {
		lg.apply(ev)
	}
	deadline := time.Now().Add(relayStartWait)
	for !lg.live() {
		if lg.done || time.Now().After(deadline) {
			// done is appended once the end is stored: if it was this
			// run's end, the store shows it ended; if the store shows it
			// streaming, the done is an earlier run's and this one's start
			// is yet to come.
			cur, found, err := s.stored(ctx, owner, m)
			if err != nil {
				return nil, err
			}
			if !found || cur.Status.Final() {
				return nil, nil
			}
			if time.Now().After(deadline) {
				return nil, errElsewhere()
			}
			lg.done = false
			lg.run = "" // wait for the next start
		}
		evs, err := rl.Read(ctx, m.ID, lg.pos, 250*time.Millisecond)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			s.log.Warn("read a reply's log", "message_id", m.ID, "err", err)
			return nil, errElsewhere()
		}
		for _, ev := range evs {
			lg.apply(ev)
		}
	}
	r := &Run{ConversationID: m.ConversationID, owner: owner, convs: s.store.For(owner),
		cancel: func(error) {}, done: make(chan struct{}), changed: make(chan struct{}), msg: lg.msg}
	go s.mirror(ctx, r, lg)
	return r, nil
}

// mirror keeps r, the mirror of a reply run elsewhere, up to date from
// its log until the run ends or ctx does, then closes r.done. A log that
// stays silent a third of the lease is checked against the store, which
// also ends the reply as interrupted once its lease ran out (its replica
// died): the store's final state then ends the mirror.
func (s *Service) mirror(ctx context.Context, r *Run, lg replyLog) {
	defer close(r.done)
	rl := s.cfg.Relay
	id := lg.msg.ID
	check := max(s.cfg.ReplyLease/3, 100*time.Millisecond)
	lastHeard := time.Now()
	for {
		evs, err := rl.Read(ctx, id, lg.pos, min(check, time.Second))
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Debug("read a reply's log", "message_id", id, "err", err)
			t := time.NewTimer(relayRetry)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		for _, ev := range evs {
			if lg.apply(ev) {
				// A new run of the reply: the one followed ended unseen.
				return
			}
		}
		if len(evs) > 0 {
			lastHeard = time.Now()
			msg := lg.msg
			if lg.done {
				r.finish(msg, nil)
				return
			}
			r.update(func(m *chat.Message) { *m = msg })
			continue
		}
		if time.Since(lastHeard) < check {
			continue
		}
		lastHeard = time.Now()
		cur, found, err := s.stored(ctx, r.owner, lg.msg)
		switch {
		case err != nil:
		case !found:
			return
		case cur.Status.Final():
			r.finish(cur, nil)
			return
		}
	}
}

// stopElsewhere stops reply m of owner, which runs on another replica:
// it asks every replica to stop it, again every relayRestop in case the
// one running it missed the request, until the reply's log (or the
// store) shows it ended.
func (s *Service) stopElsewhere(ctx context.Context, owner string, m chat.Message) (bool, error) {
	r, err := s.followElsewhere(ctx, owner, m)
	if err != nil || r == nil {
		return false, err
	}
	req := StopRequest{Owner: owner, ConversationID: m.ConversationID, MessageID: m.ID}
	t := time.NewTicker(relayRestop)
	defer t.Stop()
	for {
		if err := s.cfg.Relay.RequestStop(ctx, req); err != nil && ctx.Err() == nil {
			s.log.Warn("ask the other replicas to stop a reply", "message_id", m.ID, "err", err)
		}
		select {
		case <-r.done:
			return true, nil
		case <-ctx.Done():
			return true, ctx.Err()
		case <-t.C:
		}
	}
}

// listenStops stops the replies that other replicas ask this one to
// stop, until ctx ends.
func (s *Service) listenStops(ctx context.Context) {
	for {
		err := s.cfg.Relay.ListenStops(ctx, func(req StopRequest) {
			r, ok := s.runs.get(req.Owner, req.ConversationID)
			if ok && r.Snapshot().ID == req.MessageID {
				s.log.Info("reply stopped at another replica's request", "conversation_id", req.ConversationID, "message_id", req.MessageID)
				r.cancel(errStopped)
			}
		})
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("listen for stop requests; will retry", "err", err)
		t := time.NewTimer(relayRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
