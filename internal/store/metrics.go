package store

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/internal/chat"
)

// Metered returns st with the duration of each of its operations
// observed in parley_db_query_duration_seconds{operation}, registered
// with reg. An operation is one method of chat.Store or
// chat.Conversations: one statement or one transaction. Failed
// operations are observed too.
func Metered(st chat.Store, reg prometheus.Registerer) chat.Store {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "parley_db_query_duration_seconds",
		Help:    "Time the database took for one store operation (a statement or a transaction), by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"operation"})
	reg.MustRegister(h)
	m := &meteredStore{Store: st, ops: map[string]prometheus.Observer{}}
	for _, op := range []string{"interrupt_expired", "create_conversation", "get_conversation", "list_conversations",
		"update_conversation", "delete_conversation", "append_message", "update_message", "delete_messages_from",
		"clear_messages", "start_reply", "save_reply"} {
		m.ops[op] = h.WithLabelValues(op)
	}
	return m
}

type meteredStore struct {
	chat.Store
	ops map[string]prometheus.Observer // read only after Metered
}

// since observes the time since start as operation op.
func (m *meteredStore) since(op string, start time.Time) {
	m.ops[op].Observe(time.Since(start).Seconds())
}

func (m *meteredStore) For(owner string) chat.Conversations {
	return meteredConversations{c: m.Store.For(owner), m: m}
}

func (m *meteredStore) InterruptExpired(ctx context.Context, conversationID, errText string, spare []string) ([]chat.Message, error) {
	defer m.since("interrupt_expired", time.Now())
	return m.Store.InterruptExpired(ctx, conversationID, errText, spare)
}

type meteredConversations struct {
	c chat.Conversations
	m *meteredStore
}

func (c meteredConversations) CreateConversation(ctx context.Context, conv chat.Conversation) (chat.Conversation, error) {
	defer c.m.since("create_conversation", time.Now())
	return c.c.CreateConversation(ctx, conv)
}

func (c meteredConversations) GetConversation(ctx context.Context, id string) (chat.Conversation, error) {
	defer c.m.since("get_conversation", time.Now())
	return c.c.GetConversation(ctx, id)
}

func (c meteredConversations) ListConversations(ctx context.Context, opts chat.ListOptions) (chat.Page, error) {
	defer c.m.since("list_conversations", time.Now())
	return c.c.ListConversations(ctx, opts)
}

func (c meteredConversations) UpdateConversation(ctx context.Context, id string, p chat.ConversationPatch) (chat.Conversation, error) {
	defer c.m.since("update_conversation", time.Now())
	return c.c.UpdateConversation(ctx, id, p)
}

func (c meteredConversations) DeleteConversation(ctx context.Context, id string) error {
	defer c.m.since("delete_conversation", time.Now())
	return c.c.DeleteConversation(ctx, id)
}

func (c meteredConversations) AppendMessage(ctx context.Context, msg chat.Message) (chat.Message, error) {
	defer c.m.since("append_message", time.Now())
	return c.c.AppendMessage(ctx, msg)
}

func (c meteredConversations) UpdateMessage(ctx context.Context, msg chat.Message) error {
	defer c.m.since("update_message", time.Now())
	return c.c.UpdateMessage(ctx, msg)
}

func (c meteredConversations) DeleteMessagesFrom(ctx context.Context, conversationID, messageID string) error {
	defer c.m.since("delete_messages_from", time.Now())
	return c.c.DeleteMessagesFrom(ctx, conversationID, messageID)
}

func (c meteredConversations) ClearMessages(ctx context.Context, conversationID string) error {
	defer c.m.since("clear_messages", time.Now())
	return c.c.ClearMessages(ctx, conversationID)
}

func (c meteredConversations) StartReply(ctx context.Context, r chat.NewReply) (*chat.Message, chat.Message, error) {
	defer c.m.since("start_reply", time.Now())
	return c.c.StartReply(ctx, r)
}

func (c meteredConversations) SaveReply(ctx context.Context, msg chat.Message, lease chat.Lease) error {
	defer c.m.since("save_reply", time.Now())
	return c.c.SaveReply(ctx, msg, lease)
}
