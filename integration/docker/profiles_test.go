package docker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestComposeProfiles validates compose.yaml with each optional profile.
// Their images (PostgreSQL, Redis, Ollama, nginx, Prometheus, Grafana) cannot be pulled on the CI
// machine, so `config -q` is as far as they are checked there.
func TestComposeProfiles(t *testing.T) {
	d := requireDocker(t)
	empty := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv(nil)
	for _, profile := range []string{"", "postgres", "redis", "ollama", "openai", "scale", "observability"} {
		args := []string{"--env-file", empty, "-f", filepath.Join(d.repo, "compose.yaml")}
		if profile != "" {
			args = append(args, "--profile", profile)
		}
		args = append(append(append([]string{}, d.compose[1:]...), args...), "config", "-q")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := d.run(ctx, env, d.compose[0], args...)
		cancel()
		if err != nil {
			t.Errorf("compose config with profile %q: %v\n%s", profile, err, out)
		}
	}
}
