package sqlite

import (
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
)

// RegisterFlags binds o to its flags, each declaring its default.
func (o *Options) RegisterFlags(f *cmdline.Flags) {
	f.Duration(&o.BusyTimeout, "sqlite-busy-timeout", 5*time.Second, "SQLite: how long a statement waits for a lock another process holds")
	f.Int(&o.MaxReadConns, "sqlite-read-conns", 4, "SQLite: connections that read concurrently (writes go through one)")
	f.String(&o.Sync, "sqlite-sync", SyncNormal, "SQLite durability: normal (WAL, synchronous NORMAL: a commit survives a crash of the process; the last commits may be lost on power loss) or full (every commit synced to disk: survives power loss, slower)")
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.BusyTimeout < 0 || o.MaxReadConns < 0 {
		return errors.New("--sqlite-busy-timeout and --sqlite-read-conns must not be negative")
	}
	if o.Sync != "" && o.Sync != SyncNormal && o.Sync != SyncFull {
		return fmt.Errorf("--sqlite-sync %q: want %s or %s", o.Sync, SyncNormal, SyncFull)
	}
	return nil
}
