// Package cluster is what the replicas of the api share beside the
// database: a Redis connection (--redis-url). The conversation service
// carries running replies between replicas over it
// (internal/conversation/relay); other components that must count or
// coordinate across replicas reuse the same client. Without a Redis URL
// there is no cluster: every replica keeps to itself what runs in it.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/cmdline"
)

// Config names the Redis the replicas share.
type Config struct {
	// RedisURL is a redis:// or rediss:// URL ("": no Redis). Its query
	// takes go-redis's client options (pool_size, dial_timeout,
	// read_timeout, ...).
	RedisURL string
}

// RegisterFlags binds c to its flags. The URL may carry a password, so
// it is a secret: help output never shows its value.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Secret(&c.RedisURL, "redis-url", "redis://[user:password@]host:port/db shared by the api replicas, to follow and stop a running reply from any of them (empty: none; each replica serves only the replies it runs)")
}

// Validate reports a URL that cannot name a Redis.
func (c Config) Validate() error {
	if c.RedisURL == "" {
		return nil
	}
	if _, err := redis.ParseURL(c.RedisURL); err != nil {
		// go-redis's message may quote the URL, password and all.
		return errors.New("--redis-url must be a redis://host:port or rediss://host:port URL")
	}
	return nil
}

// Enabled reports whether a Redis is configured.
func (c Config) Enabled() bool { return c.RedisURL != "" }

// Connect returns a client of the configured Redis, or nil when none is.
// An unreachable Redis is logged, not refused: the api works without it
// (replies are then followed and stopped only where they run), and the
// client connects once Redis answers.
func Connect(ctx context.Context, cfg Config, log *slog.Logger) (*redis.Client, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, errors.New("--redis-url must be a redis://host:port or rediss://host:port URL")
	}
	rdb := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		log.Warn("redis does not answer yet; replies run elsewhere cannot be followed or stopped from here until it does",
			"addr", opt.Addr, "err", err)
	} else {
		log.Info("redis connected: running replies are shared with the other replicas", "addr", opt.Addr)
	}
	return rdb, nil
}

// State is Redis as /readyz shows it: "up", or "down: why". It is not a
// readiness check: without Redis a replica still serves everything but
// following or stopping a reply that another replica runs, and taking
// every replica out of rotation would be worse.
func State(rdb *redis.Client) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return "down: " + redactedError(err)
	}
	return "up"
}

// redactedError is err's text without anything that looks like a URL
// (which could carry a password).
func redactedError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		return fmt.Sprintf("%s…", msg[:i])
	}
	return msg
}
