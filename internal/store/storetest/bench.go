package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

// Bench measures the store calls on a chat's hot path, in parallel as the
// api makes them, so that every implementation is measured the same way.
// open is as for Run.
func Bench(b *testing.B, open func(b *testing.B) chat.Store) {
	conversations := local(open)
	b.Run("AppendMessage", func(b *testing.B) {
		st := conversations(b)
		c := benchConversation(b, st, 0)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.AppendMessage(context.Background(), chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "hello"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("UpdateMessage", func(b *testing.B) {
		// What a streaming reply does, many times over.
		st := conversations(b)
		c := benchConversation(b, st, 1)
		m := c.Messages[0]
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			m := m
			for pb.Next() {
				m.Content += "x"
				m.Status = chat.StatusStreaming
				if err := st.UpdateMessage(context.Background(), m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("GetConversation", func(b *testing.B) {
		st := conversations(b)
		c := benchConversation(b, st, 50)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.GetConversation(context.Background(), c.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("ListConversations", func(b *testing.B) {
		st := conversations(b)
		for range 100 {
			benchConversation(b, st, 0)
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.ListConversations(context.Background(), chat.ListOptions{Limit: 20}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// benchConversation creates a conversation with n messages of about 500
// bytes each.
func benchConversation(b *testing.B, st chat.Conversations, n int) chat.Conversation {
	b.Helper()
	ctx := context.Background()
	c, err := st.CreateConversation(ctx, chat.Conversation{Title: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		m, err := st.AppendMessage(ctx, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: strings.Repeat("word ", 100)})
		if err != nil {
			b.Fatal(err)
		}
		c.Messages = append(c.Messages, m)
	}
	return c
}

// local makes open give the local user's conversations, which is what
// every benchmark measures.
func local(open func(b *testing.B) chat.Store) func(b *testing.B) chat.Conversations {
	return func(b *testing.B) chat.Conversations { return open(b).For(account.LocalID) }
}
