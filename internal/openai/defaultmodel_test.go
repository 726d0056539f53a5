package openai_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/openai"
)

func TestDefaultModel(t *testing.T) {
	const ok chat.Kind = -1 // no error
	boom := errors.New("down")
	tests := []struct {
		name      string
		fixed     string
		lists     [][]chat.ModelInfo // what list answers, call by call
		errs      []error
		want      []string // per Resolve
		wantKind  []chat.Kind
		wantCalls int
	}{
		{name: "configured: never asks", fixed: "m", want: []string{"m", "m"}, wantKind: []chat.Kind{ok, ok}},
		{name: "first listed, asked once", lists: [][]chat.ModelInfo{{{ID: "a"}, {ID: "b"}}},
			want: []string{"a", "a"}, wantKind: []chat.Kind{ok, ok}, wantCalls: 1},
		{name: "failure is not remembered", lists: [][]chat.ModelInfo{nil, {{ID: "a"}}}, errs: []error{boom, nil},
			want: []string{"", "a"}, wantKind: []chat.Kind{chat.KindInternal, ok}, wantCalls: 2},
		{name: "empty list is unavailable", lists: [][]chat.ModelInfo{{}, {{ID: "a"}}},
			want: []string{"", "a"}, wantKind: []chat.Kind{chat.KindUnavailable, ok}, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			list := func(context.Context) ([]chat.ModelInfo, error) {
				i := calls
				calls++
				var err error
				if i < len(tt.errs) {
					err = tt.errs[i]
				}
				return tt.lists[i], err
			}
			d := openai.NewDefaultModel(tt.fixed)
			for i, want := range tt.want {
				got, err := d.Resolve(t.Context(), list, "no models")
				if got != want || (err == nil) != (tt.wantKind[i] == ok) || (err != nil && chat.KindOf(err) != tt.wantKind[i]) {
					t.Fatalf("Resolve #%d = %q, %v; want %q, kind %v", i, got, err, want, tt.wantKind[i])
				}
			}
			if calls != tt.wantCalls {
				t.Fatalf("list called %d times, want %d", calls, tt.wantCalls)
			}
		})
	}
}
