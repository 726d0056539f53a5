package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

// The pools themselves closed underneath the store (not through DB.Close):
// database/sql's own "database is closed" must map to KindUnavailable too.
func TestPoolClosedIsUnavailable(t *testing.T) {
	d, err := Open(t.Context(), filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.read.Close()
	d.write.Close()
	if k := chat.KindOf(d.Ping(t.Context())); k != chat.KindUnavailable {
		t.Errorf("Ping kind = %v, want unavailable", k)
	}
	_, err = d.For(account.LocalID).CreateConversation(t.Context(), chat.Conversation{})
	if k := chat.KindOf(err); k != chat.KindUnavailable {
		t.Errorf("CreateConversation kind = %v (%v), want unavailable", k, err)
	}
}

func TestClassifyContext(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want chat.Kind
	}{
		{"canceled", canceled, context.Canceled, chat.KindUnavailable},
		{"deadline", context.Background(), context.DeadlineExceeded, chat.KindTimeout},
		{"other", context.Background(), errors.New("boom"), chat.KindInternal},
	}
	for _, tt := range tests {
		err := dialect.Classify(tt.ctx, "test", tt.err)
		if got := chat.KindOf(err); got != tt.want {
			t.Errorf("%s: kind = %v, want %v", tt.name, got, tt.want)
		}
		if chat.MessageOf(err) == tt.err.Error() {
			t.Errorf("%s: client message leaks the cause", tt.name)
		}
	}
}
