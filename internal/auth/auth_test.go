package auth

import "testing"

// The laptop start (a loopback address) needs nothing; anything another
// machine can reach asks for accounts unless told otherwise.
func TestModeFor(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080":       ModeNone,
		"127.8.9.10:8080":      ModeNone,
		"[::1]:8080":           ModeNone,
		"localhost:8080":       ModeNone,
		"0.0.0.0:8080":         ModePassword,
		":8080":                ModePassword,
		"[::]:8080":            ModePassword,
		"192.168.1.20:80":      ModePassword,
		"parley.lan:8080":      ModePassword,
		"":                     ModePassword,
		"[::ffff:127.0.0.1]:1": ModeNone,
	} {
		if got := (Config{}).ModeFor(addr); got != want {
			t.Errorf("ModeFor(%q) = %s, want %s", addr, got, want)
		}
	}
	if got := (Config{Mode: ModePassword}).ModeFor("127.0.0.1:8080"); got != ModePassword {
		t.Errorf("--auth password on loopback = %s", got)
	}
	if got := (Config{Mode: ModeNone}).ModeFor("0.0.0.0:8080"); got != ModeNone {
		t.Errorf("--auth none on every interface = %s", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {Mode: ModeNone}, {Mode: ModePassword, TrustedProxies: "10.0.0.0/8, ::1"}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, c := range []Config{{Mode: "ldap"}, {TrustedProxies: "10.0.0.0/99"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
