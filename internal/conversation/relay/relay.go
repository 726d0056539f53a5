// Package relay is the conversation service's Relay on Redis: each
// running reply's log is a Redis stream (one entry per event, in order,
// read from any position and waited on with XREAD BLOCK), and stop
// requests go out on one pub/sub channel that every api replica listens
// to. A stream expires --reply-log-ttl after its last entry, a minute
// after the reply's end, so Redis holds only the replies running now.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/conversation"
)

// Names in Redis.
const (
	keyPrefix   = "parley:reply:"
	stopChannel = "parley:reply-stops"
)

// endedTTL is how long the log of an ended reply stays: long enough for
// a replica that read the reply as streaming a moment before to find its
// done event.
const endedTTL = time.Minute

// Config holds the relay's limits.
type Config struct {
	// LogTTL is how long a running reply's log stays in Redis after its
	// latest event. Each event renews it, so only a reply whose replica
	// died (or whose model stays silent this long) loses its log.
	LogTTL time.Duration
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Duration(&c.LogTTL, "reply-log-ttl", 15*time.Minute, "with --redis-url: how long a running reply's log stays in Redis after its latest piece of text (an ended reply's stays a minute)")
}

// Validate reports limits that cannot work.
func (c Config) Validate() error {
	if c.LogTTL < time.Second {
		return errors.New("--reply-log-ttl must be at least 1s")
	}
	return nil
}

// Redis is a conversation.Relay on a Redis server.
type Redis struct {
	rdb *redis.Client
	cfg Config
}

// New returns the relay over rdb, which the caller closes.
func New(rdb *redis.Client, cfg Config) *Redis {
	if cfg.LogTTL <= 0 {
		cfg.LogTTL = 15 * time.Minute
	}
	return &Redis{rdb: rdb, cfg: cfg}
}

var _ conversation.Relay = (*Redis)(nil)

// Append adds evs to the reply's stream in one round trip and renews the
// stream's expiry.
func (r *Redis) Append(ctx context.Context, messageID string, evs ...conversation.RelayEvent) error {
	if len(evs) == 0 {
		return nil
	}
	key := keyPrefix + messageID
	ttl := r.cfg.LogTTL
	pipe := r.rdb.Pipeline()
	for _, ev := range evs {
		values := []any{"kind", ev.Kind, "run", ev.Run}
		if ev.Kind == conversation.RelayDelta {
			values = append(values, "at", ev.At, "text", ev.Text)
		}
		if ev.Message != nil {
			b, err := json.Marshal(ev.Message)
			if err != nil {
				return fmt.Errorf("encode reply: %w", err)
			}
			values = append(values, "message", b)
		}
		if ev.Kind == conversation.RelayDone {
			ttl = min(ttl, endedTTL)
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: values})
	}
	pipe.PExpire(ctx, key, ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable("append to a reply's log", err)
	}
	return nil
}

// Read returns the stream's entries after after: at once with XRANGE, or
// waiting up to block with XREAD BLOCK.
func (r *Redis) Read(ctx context.Context, messageID, after string, block time.Duration) ([]conversation.RelayEvent, error) {
	key := keyPrefix + messageID
	var msgs []redis.XMessage
	if block <= 0 {
		start := "-"
		if after != "" {
			start = "(" + after
		}
		var err error
		msgs, err = r.rdb.XRange(ctx, key, start, "+").Result()
		if err != nil {
			return nil, unavailable("read a reply's log", err)
		}
	} else {
		if after == "" {
			after = "0-0"
		}
		streams, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{key, after}, Block: block, Count: 1000}).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, unavailable("read a reply's log", err)
		}
		for _, s := range streams {
			msgs = append(msgs, s.Messages...)
		}
	}
	evs := make([]conversation.RelayEvent, 0, len(msgs))
	for _, m := range msgs {
		ev, err := decode(m)
		if err != nil {
			return nil, fmt.Errorf("reply log %s entry %s: %w", messageID, m.ID, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func decode(m redis.XMessage) (conversation.RelayEvent, error) {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	ev := conversation.RelayEvent{Pos: m.ID, Kind: str("kind"), Run: str("run"), Text: str("text")}
	if at := str("at"); at != "" {
		n, err := strconv.Atoi(at)
		if err != nil || n < 0 {
			return ev, fmt.Errorf("bad offset %q", at)
		}
		ev.At = n
	}
	if raw := str("message"); raw != "" {
		var msg chat.Message
		if err := json.Unmarshal([]byte(raw), &msg); err != nil {
			return ev, fmt.Errorf("decode reply: %w", err)
		}
		ev.Message = &msg
	}
	return ev, nil
}

// RequestStop publishes req on the stop channel.
func (r *Redis) RequestStop(ctx context.Context, req conversation.StopRequest) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := r.rdb.Publish(ctx, stopChannel, b).Err(); err != nil {
		return unavailable("send a stop request", err)
	}
	return nil
}

// ListenStops subscribes to the stop channel and hands each request to
// handle until ctx ends. The subscription reconnects by itself when
// Redis comes back.
func (r *Redis) ListenStops(ctx context.Context, handle func(conversation.StopRequest)) error {
	sub := r.rdb.Subscribe(ctx, stopChannel)
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-ch:
			if !ok {
				return errors.New("the stop channel's subscription closed")
			}
			var req conversation.StopRequest
			if err := json.Unmarshal([]byte(m.Payload), &req); err != nil {
				continue // not ours
			}
			handle(req)
		}
	}
}

func unavailable(what string, err error) error {
	return chat.E(chat.KindUnavailable, "redis is unavailable", fmt.Errorf("%s: %w", what, err))
}
