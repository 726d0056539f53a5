package conversation

import (
	"context"
	"sync"

	"github.com/parley-chat/parley/internal/chat"
)

// runs is the bookkeeping of the replies running in this process: at most
// one per conversation, each reserved before its history changes and
// released when its final state is stored, and all of them ended on
// shutdown. Across processes the store keeps one reply per conversation
// (Store.StartReply and the reply's lease); this is the same rule within
// the process, checked before the database is asked.
//
// Runs are known by owner and conversation: a conversation has one owner,
// so for its owner this is one run per conversation, while another user
// naming the same id neither finds the run nor is held up by it.
type runs struct {
	mu      sync.Mutex
	byConv  map[runKey]*Run
	closing bool
	wg      sync.WaitGroup // one per reserved run, done on release

	// hard is cancelled when shutdown stops waiting: runs still trying to
	// store their final state give up.
	hard     context.Context
	hardStop context.CancelFunc
}

// runKey names the run of one owner's conversation.
type runKey struct{ owner, conversationID string }

func (r *Run) key() runKey { return runKey{r.owner, r.ConversationID} }

func newRuns() *runs {
	hard, stop := context.WithCancel(context.Background())
	return &runs{byConv: make(map[runKey]*Run), hard: hard, hardStop: stop}
}

// reserve makes r the run of its conversation. It fails while another
// run holds the conversation and once shutdown has begun.
func (rs *runs) reserve(r *Run) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	switch {
	case rs.closing:
		return chat.Errorf(chat.KindUnavailable, "the server is shutting down; try again in a moment")
	case rs.byConv[r.key()] != nil:
		return errRunning()
	}
	rs.byConv[r.key()] = r
	rs.wg.Add(1)
	return nil
}

// release frees r's conversation, then tells r's followers it has ended.
func (rs *runs) release(r *Run) {
	rs.mu.Lock()
	delete(rs.byConv, r.key())
	rs.mu.Unlock()
	close(r.done)
	rs.wg.Done()
}

// get returns the run that holds owner's conversation, started or still
// preparing: both forbid other changes to its history.
func (rs *runs) get(owner, conversationID string) (*Run, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.byConv[runKey{owner, conversationID}]
	return r, ok
}

// messageIDs returns the ids of the replies running here.
func (rs *runs) messageIDs() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var ids []string
	for _, r := range rs.byConv {
		if id := r.Snapshot().ID; id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// started returns the run of owner's conversation and the reply as it is
// now, if the run has stored its assistant message; a run still preparing
// is left out, since there is nothing to show of it yet.
func (rs *runs) started(owner, conversationID string) (*Run, chat.Message, bool) {
	r, ok := rs.get(owner, conversationID)
	if !ok {
		return nil, chat.Message{}, false
	}
	msg := r.Snapshot()
	if msg.ID == "" {
		return nil, chat.Message{}, false
	}
	return r, msg, true
}

// shutdown refuses new runs and waits for running ones until ctx ends;
// then it stops those left and waits for them to store their final state.
func (rs *runs) shutdown(ctx context.Context) {
	defer rs.hardStop()
	rs.mu.Lock()
	rs.closing = true
	rs.mu.Unlock()
	done := make(chan struct{})
	go func() { rs.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	rs.mu.Lock()
	for _, r := range rs.byConv {
		r.cancel(errShuttingDown)
	}
	rs.mu.Unlock()
	rs.hardStop()
	<-done // each run tries once more to store its final state, then ends
}
