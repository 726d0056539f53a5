package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-chat/parley/internal/chat"
)

func TestClassify(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want chat.Kind
	}{
		{"unique", context.Background(), &pgconn.PgError{Code: "23505"}, chat.KindConflict},
		{"foreign key", context.Background(), &pgconn.PgError{Code: "23503"}, chat.KindNotFound},
		{"bad encoding", context.Background(), &pgconn.PgError{Code: "22021"}, chat.KindInvalid},
		{"admin shutdown", context.Background(), &pgconn.PgError{Code: "57P01"}, chat.KindUnavailable},
		{"cannot connect now", context.Background(), &pgconn.PgError{Code: "57P03"}, chat.KindUnavailable},
		{"too many connections", context.Background(), &pgconn.PgError{Code: "53300"}, chat.KindUnavailable},
		{"serialization", context.Background(), &pgconn.PgError{Code: "40001"}, chat.KindUnavailable},
		{"syntax error is a bug", context.Background(), &pgconn.PgError{Code: "42601"}, chat.KindInternal},
		{"connection refused", context.Background(), fmt.Errorf("dial: %w", refused), chat.KindUnavailable},
		{"closed pool", context.Background(), errors.New("closed pool"), chat.KindUnavailable},
		{"canceled", canceled, errors.New("whatever the driver said"), chat.KindUnavailable},
		{"deadline", context.Background(), fmt.Errorf("x: %w", context.DeadlineExceeded), chat.KindTimeout},
		{"unknown", context.Background(), errors.New("scan: cannot assign"), chat.KindInternal},
		{"domain error kept", context.Background(), chat.Errorf(chat.KindNotFound, "conversation not found"), chat.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dialect.Classify(tt.ctx, "test", tt.err)
			if got := chat.KindOf(err); got != tt.want {
				t.Errorf("kind = %v, want %v (%v)", got, tt.want, err)
			}
			if !errors.Is(err, tt.err) && tt.ctx.Err() == nil {
				t.Errorf("cause not kept: %v", err)
			}
			if tt.want != chat.KindNotFound && chat.MessageOf(err) == tt.err.Error() {
				t.Errorf("client message leaks the driver error: %q", chat.MessageOf(err))
			}
		})
	}
	if err := dialect.Classify(context.Background(), "x", nil); err != nil {
		t.Errorf("classify(nil) = %v", err)
	}
}
