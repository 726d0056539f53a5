// Package redislimit is package limit's Rate and Running counted in the
// Redis the api replicas share (--redis-url), so that a user's request
// rate and running replies are one count however many replicas serve
// them. Time is Redis's own (TIME), so replicas' clocks need not agree. A
// held running slot is a lease the holder renews; a replica that dies
// without releasing its slots loses them when their leases run out. While
// Redis does not answer, each replica counts for itself (the in-process
// limiters), so a Redis outage neither lifts the limits nor stops the api.
package redislimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/limit"
)

// keyPrefix names Parley's limit keys in the shared Redis.
const keyPrefix = "parley:limit:"

// rateScript is a token bucket: capacity tokens, refilled at rate per
// second; it takes one and returns 0, or returns the milliseconds until
// one is there.
var rateScript = redis.NewScript(`
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = cap
  at = now
end
tokens = math.min(cap, tokens + (now - at) / 1000 * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate * 1000) + 1000)
return wait
`)

// acquireScript takes a slot (member ARGV[2]) of at most ARGV[1], held
// for ARGV[3] milliseconds, after dropping the slots whose lease ran out;
// it returns 1, or 0 when all are taken.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
`)

// renewScript extends a held slot's lease, if it is still held.
var renewScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`)

// NewRate returns the shared Rate of perMinute requests per key (nil for
// 0: no limit).
func NewRate(rdb *redis.Client, perMinute int, log *slog.Logger) limit.Rate {
	if perMinute <= 0 {
		return nil
	}
	return &rate{rdb: rdb, capacity: perMinute, local: limit.NewRate(perMinute, nil), log: logger(log)}
}

type rate struct {
	rdb      *redis.Client
	capacity int
	local    limit.Rate // while Redis does not answer
	log      *slog.Logger
	warned   sync.Once
}

func (r *rate) Take(ctx context.Context, key string) error {
	perSec := float64(r.capacity) / 60
	wait, err := rateScript.Run(ctx, r.rdb, []string{keyPrefix + "rate:" + key}, r.capacity, perSec).Int64()
	if err != nil {
		r.warned.Do(func() {
			r.log.Warn("redis does not answer: request rates are counted per replica until it does", "err", err)
		})
		return r.local.Take(ctx, key)
	}
	if wait == 0 {
		return nil
	}
	d := time.Duration(wait) * time.Millisecond
	return &chat.Error{Kind: chat.KindRateLimited, Code: "rate_limit_exceeded", RetryAfter: d,
		Message: fmt.Sprintf("too many requests: at most %d a minute; try again in %d s", r.capacity, (d+time.Second-1)/time.Second)}
}

// NewRunning returns the shared Running of max slots per key (nil for 0:
// no limit). A slot is held under a lease of lease, renewed every third
// of it until released.
func NewRunning(rdb *redis.Client, max int, lease time.Duration, log *slog.Logger) limit.Running {
	if max <= 0 {
		return nil
	}
	if lease < 300*time.Millisecond {
		lease = 300 * time.Millisecond
	}
	return &running{rdb: rdb, max: max, lease: lease, local: limit.NewRunning(max), log: logger(log)}
}

type running struct {
	rdb    *redis.Client
	max    int
	lease  time.Duration
	local  limit.Running // while Redis does not answer
	log    *slog.Logger
	warned sync.Once
}

func (r *running) Acquire(ctx context.Context, key string) (func(), error) {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	member, zkey := hex.EncodeToString(b), keyPrefix+"running:"+key
	ok, err := acquireScript.Run(ctx, r.rdb, []string{zkey}, r.max, member, r.lease.Milliseconds()).Int()
	if err != nil {
		r.warned.Do(func() {
			r.log.Warn("redis does not answer: running replies are counted per replica until it does", "err", err)
		})
		return r.local.Acquire(ctx, key)
	}
	if ok == 0 {
		return nil, &chat.Error{Kind: chat.KindRateLimited, Code: "too_many_running_replies", RetryAfter: 5 * time.Second,
			Message: fmt.Sprintf("%d replies of yours are running already; wait for one to end, or stop one", r.max)}
	}
	// The lease is renewed until release, by a goroutine release stops.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(context.Background(), r.lease/3)
				_ = renewScript.Run(rctx, r.rdb, []string{zkey}, member, r.lease.Milliseconds()).Err()
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			// Not answered: the lease frees the slot when it runs out.
			_ = r.rdb.ZRem(ctx, zkey, member).Err()
		})
	}, nil
}

func logger(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
