package account

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
)

// Patch is what an admin changes of an account; nil means "leave as is".
type Patch struct {
	Role     *Role
	Disabled *bool
	Password *string
}

// requireAdmin refuses a non-admin actor.
func requireAdmin(actor User) error {
	if !actor.Admin() {
		return &chat.Error{Kind: chat.KindForbidden, Code: "admin_only", Message: "only an admin can manage accounts"}
	}
	return nil
}

// ListUsers returns every account, for an admin.
func (s *Service) ListUsers(ctx context.Context, actor User) ([]User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	return s.store.ListUsers(ctx)
}

// CreateUser makes an account, for an admin.
func (s *Service) CreateUser(ctx context.Context, actor User, username, password string, role Role) (User, error) {
	if err := requireAdmin(actor); err != nil {
		return User{}, err
	}
	username, err := checkUsername(username)
	if err != nil {
		return User{}, err
	}
	if err := checkRole(role); err != nil {
		return User{}, err
	}
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	hash, err := s.hash.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	u, err := s.store.CreateUser(ctx, User{Username: username, Role: role}, hash)
	if err == nil {
		s.log.Info("account created", "user_id", u.ID, "username", u.Username, "role", u.Role, "by", actor.ID)
	}
	return u, err
}

// UpdateUser changes an account's role, disables or enables it, or sets
// its password, for an admin. Disabling an account or setting its
// password signs it out everywhere; a disabled account's API keys stop
// working until it is enabled again. An admin cannot demote or disable
// themselves, so there is always an admin left.
func (s *Service) UpdateUser(ctx context.Context, actor User, id string, p Patch) (User, error) {
	if err := requireAdmin(actor); err != nil {
		return User{}, err
	}
	if p.Role != nil {
		if err := checkRole(*p.Role); err != nil {
			return User{}, err
		}
	}
	if id == actor.ID && ((p.Role != nil && *p.Role != RoleAdmin) || (p.Disabled != nil && *p.Disabled)) {
		return User{}, errSelf("demote or disable")
	}
	var patch UserPatch
	patch.Role, patch.Disabled = p.Role, p.Disabled
	if p.Password != nil {
		if err := checkPassword(*p.Password); err != nil {
			return User{}, err
		}
		hash, err := s.hash.hash(ctx, *p.Password)
		if err != nil {
			return User{}, err
		}
		patch.PasswordHash = &hash
	}
	u, err := s.store.UpdateUser(ctx, id, patch)
	if err == nil {
		s.log.Info("account changed", "user_id", u.ID, "role", u.Role, "disabled", u.Disabled,
			"password_set", p.Password != nil, "by", actor.ID)
	}
	return u, err
}

// DeleteUser removes an account with its conversations, sessions and keys,
// for an admin; not their own.
func (s *Service) DeleteUser(ctx context.Context, actor User, id string) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	if id == actor.ID {
		return errSelf("delete")
	}
	err := s.store.DeleteUser(ctx, id)
	if err == nil {
		s.log.Info("account deleted", "user_id", id, "by", actor.ID)
	}
	return err
}

// CreateKey makes an API key of actor and returns it with the key itself,
// which is shown this once: only its hash is stored.
func (s *Service) CreateKey(ctx context.Context, actor User, name string) (Key, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxKeyNameRunes || !utf8.ValidString(name) {
		return Key{}, "", &chat.Error{Kind: chat.KindInvalid, Code: "invalid_key_name", Message: "a key needs a name of 1 to 100 characters"}
	}
	secret := newKey()
	k, err := s.store.CreateKey(ctx, Key{UserID: actor.ID, Name: name}, hashToken(secret))
	if err != nil {
		return Key{}, "", err
	}
	return k, secret, nil
}

// ListKeys returns actor's API keys.
func (s *Service) ListKeys(ctx context.Context, actor User) ([]Key, error) {
	return s.store.ListKeys(ctx, actor.ID)
}

// DeleteKey deletes one of actor's API keys; it stops working at once.
func (s *Service) DeleteKey(ctx context.Context, actor User, id string) error {
	return s.store.DeleteKey(ctx, actor.ID, id)
}

func checkRole(r Role) error {
	if !r.Valid() {
		return &chat.Error{Kind: chat.KindInvalid, Code: "invalid_role", Message: `role must be "admin" or "user"`}
	}
	return nil
}

func errSelf(what string) error {
	return &chat.Error{Kind: chat.KindForbidden, Code: "own_account",
		Message: "an admin cannot " + what + " their own account; another admin can"}
}
