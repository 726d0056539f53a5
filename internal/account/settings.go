package account

import (
	"context"

	"github.com/parley-chat/parley/internal/chat"
)

// settingSignup is the stored name of the signup policy.
const settingSignup = "signup"

// Settings are what an admin changes while Parley runs. Each is stored in
// the database once an admin sets it; until then its flag decides.
type Settings struct {
	// Signup is SignupOpen or SignupClosed.
	Signup string `json:"signup"`
}

// SettingsPatch changes some settings; nil means "leave as is".
type SettingsPatch struct {
	Signup *string
}

// signupPolicy is the signup policy in force: the one an admin stored,
// else --signup.
func (s *Service) signupPolicy(ctx context.Context) (string, error) {
	v, ok, err := s.store.Setting(ctx, settingSignup)
	if err != nil {
		return "", err
	}
	if !ok || (v != SignupOpen && v != SignupClosed) {
		// A value this version does not know (a newer one wrote it) is
		// not trusted to mean open.
		return s.cfg.Signup, nil
	}
	return v, nil
}

// Settings returns the settings in force, for an admin.
func (s *Service) Settings(ctx context.Context, actor User) (Settings, error) {
	if err := requireAdmin(actor); err != nil {
		return Settings{}, err
	}
	policy, err := s.signupPolicy(ctx)
	if err != nil {
		return Settings{}, err
	}
	return Settings{Signup: policy}, nil
}

// UpdateSettings stores the settings p changes, for an admin, and returns
// the settings in force after it. A stored setting outlives restarts and
// wins over its flag from then on; every api replica reads it.
func (s *Service) UpdateSettings(ctx context.Context, actor User, p SettingsPatch) (Settings, error) {
	if err := requireAdmin(actor); err != nil {
		return Settings{}, err
	}
	if p.Signup != nil {
		if *p.Signup != SignupOpen && *p.Signup != SignupClosed {
			return Settings{}, &chat.Error{Kind: chat.KindInvalid, Code: "invalid_signup",
				Message: `signup must be "open" or "closed"`}
		}
		if err := s.store.SetSetting(ctx, settingSignup, *p.Signup); err != nil {
			return Settings{}, err
		}
		s.log.Info("setting changed", "setting", settingSignup, "value", *p.Signup, "by", actor.ID)
	}
	return s.Settings(ctx, actor)
}
