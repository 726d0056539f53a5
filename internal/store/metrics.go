package store

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/obs"
)

// Metered returns st with the duration of each of its operations
// observed in parley_db_query_duration_seconds{operation}, registered
// with reg, and each operation a span of the trace its context is in. An operation is one method of chat.Store or
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
		"clear_messages", "select_version", "start_reply", "save_reply"} {
		m.ops[op] = h.WithLabelValues(op)
	}
	return m
}

type meteredStore struct {
	chat.Store
	ops map[string]prometheus.Observer // read only after Metered
}

// op starts operation name: a span when ctx is in a trace, and the
// clock. Call the returned function with the operation's error when it
// ends.
func (m *meteredStore) op(ctx context.Context, name string) (context.Context, func(error)) {
	start := time.Now()
	ctx, span := obs.StartSpan(ctx, "store "+name, attribute.String("db.operation.name", name))
	return ctx, func(err error) {
		m.ops[name].Observe(time.Since(start).Seconds())
		if err != nil {
			span.SetStatus(codes.Error, chat.KindOf(err).String())
		}
		span.End()
	}
}

func (m *meteredStore) For(owner string) chat.Conversations {
	return meteredConversations{c: m.Store.For(owner), m: m}
}

func (m *meteredStore) InterruptExpired(ctx context.Context, conversationID, errText string, spare []string) ([]chat.Message, error) {
	ctx, end := m.op(ctx, "interrupt_expired")
	v, err := m.Store.InterruptExpired(ctx, conversationID, errText, spare)
	end(err)
	return v, err
}

type meteredConversations struct {
	c chat.Conversations
	m *meteredStore
}

func (c meteredConversations) CreateConversation(ctx context.Context, conv chat.Conversation) (chat.Conversation, error) {
	ctx, end := c.m.op(ctx, "create_conversation")
	v, err := c.c.CreateConversation(ctx, conv)
	end(err)
	return v, err
}

func (c meteredConversations) GetConversation(ctx context.Context, id string) (chat.Conversation, error) {
	ctx, end := c.m.op(ctx, "get_conversation")
	v, err := c.c.GetConversation(ctx, id)
	end(err)
	return v, err
}

func (c meteredConversations) ListConversations(ctx context.Context, opts chat.ListOptions) (chat.Page, error) {
	ctx, end := c.m.op(ctx, "list_conversations")
	v, err := c.c.ListConversations(ctx, opts)
	end(err)
	return v, err
}

func (c meteredConversations) UpdateConversation(ctx context.Context, id string, p chat.ConversationPatch) (chat.Conversation, error) {
	ctx, end := c.m.op(ctx, "update_conversation")
	v, err := c.c.UpdateConversation(ctx, id, p)
	end(err)
	return v, err
}

func (c meteredConversations) DeleteConversation(ctx context.Context, id string) error {
	ctx, end := c.m.op(ctx, "delete_conversation")
	err := c.c.DeleteConversation(ctx, id)
	end(err)
	return err
}

func (c meteredConversations) AppendMessage(ctx context.Context, msg chat.Message) (chat.Message, error) {
	ctx, end := c.m.op(ctx, "append_message")
	v, err := c.c.AppendMessage(ctx, msg)
	end(err)
	return v, err
}

func (c meteredConversations) UpdateMessage(ctx context.Context, msg chat.Message) error {
	ctx, end := c.m.op(ctx, "update_message")
	err := c.c.UpdateMessage(ctx, msg)
	end(err)
	return err
}

func (c meteredConversations) DeleteMessagesFrom(ctx context.Context, conversationID, messageID string) error {
	ctx, end := c.m.op(ctx, "delete_messages_from")
	err := c.c.DeleteMessagesFrom(ctx, conversationID, messageID)
	end(err)
	return err
}

func (c meteredConversations) ClearMessages(ctx context.Context, conversationID string) error {
	ctx, end := c.m.op(ctx, "clear_messages")
	err := c.c.ClearMessages(ctx, conversationID)
	end(err)
	return err
}

func (c meteredConversations) SelectVersion(ctx context.Context, conversationID, messageID string, version int) error {
	ctx, end := c.m.op(ctx, "select_version")
	err := c.c.SelectVersion(ctx, conversationID, messageID, version)
	end(err)
	return err
}

func (c meteredConversations) StartReply(ctx context.Context, r chat.NewReply) (*chat.Message, chat.Message, error) {
	ctx, end := c.m.op(ctx, "start_reply")
	v, w, err := c.c.StartReply(ctx, r)
	end(err)
	return v, w, err
}

func (c meteredConversations) SaveReply(ctx context.Context, msg chat.Message, lease chat.Lease) error {
	ctx, end := c.m.op(ctx, "save_reply")
	err := c.c.SaveReply(ctx, msg, lease)
	end(err)
	return err
}
