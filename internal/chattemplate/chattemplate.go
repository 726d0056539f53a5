// Package chattemplate turns a conversation into the prompt text a model
// was trained on. It renders the model's own Jinja template
// (tokenizer.chat_template in the GGUF file) the way Hugging Face
// transformers does, and falls back to built-in formats (ChatML, Llama 2,
// Llama 3, Zephyr, plain text for base models) when a model has no
// template or its template cannot be rendered.
package chattemplate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ardanlabs/jinja"

	"github.com/parley-chat/parley/internal/chat"
)

// Template renders conversations for one model. It is immutable and safe
// for concurrent use.
type Template struct {
	jinja    *jinja.Template // nil for a built-in format
	family   Family          // the built-in format, or the family detected from the source
	bos, eos string
	vars     map[string]any
	// fallback says why a built-in is used instead of the model's template.
	fallback string
}

// Option adjusts a Template.
type Option func(*Template)

// WithVar sets an extra template variable, e.g. "date_string" for the
// Llama 3 templates, which otherwise print today's date.
func WithVar(name string, value any) Option {
	return func(t *Template) {
		if t.vars == nil {
			t.vars = map[string]any{}
		}
		t.vars[name] = value
	}
}

// New compiles a Jinja chat template. bos and eos are the texts of the
// model's BOS and EOS tokens, which templates refer to as bos_token and
// eos_token.
func New(template, bos, eos string, opts ...Option) (*Template, error) {
	tmpl, err := jinja.Compile(template)
	if err != nil {
		return nil, fmt.Errorf("chattemplate: compile: %w", err)
	}
	t := &Template{jinja: tmpl, family: DetectFamily(template, "", nil), bos: bos, eos: eos}
	for _, o := range opts {
		o(t)
	}
	return t, nil
}

// Builtin returns the built-in renderer of a format.
func Builtin(f Family, bos, eos string, opts ...Option) *Template {
	t := &Template{family: f, bos: bos, eos: eos}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Family is the detected (or built-in) prompt format.
func (t *Template) Family() Family { return t.family }

// IsBuiltin reports whether a built-in format renders, not a Jinja template.
func (t *Template) IsBuiltin() bool { return t.jinja == nil }

// Fallback says why the model's own template is not used ("" when it is,
// or when the model has none).
func (t *Template) Fallback() string { return t.fallback }

// Render produces the prompt for messages; with addGenerationPrompt it ends
// with the header of an assistant turn for the model to continue. The text
// may contain special-token texts (and, for some templates, the BOS text at
// the start): tokenize it with special-token parsing on, and see TrimBOS.
func (t *Template) Render(messages []chat.Turn, addGenerationPrompt bool) (string, error) {
	if t.jinja == nil {
		return renderBuiltin(t.family, messages, addGenerationPrompt, t.bos, t.eos), nil
	}
	msgs := make([]any, len(messages))
	for i, m := range messages {
		msgs[i] = map[string]any{"role": string(m.Role), "content": m.Content}
	}
	data := map[string]any{
		"messages":              msgs,
		"add_generation_prompt": addGenerationPrompt,
		"bos_token":             t.bos,
		"eos_token":             t.eos,
	}
	for k, v := range t.vars {
		data[k] = v
	}
	out, err := t.jinja.Render(data)
	if err != nil {
		// Templates raise_exception on conversations they do not accept
		// (roles not alternating, a system turn where none is allowed).
		return "", chat.E(chat.KindInvalid, "the model's chat template rejected the conversation", err)
	}
	return out, nil
}

// TrimBOS removes a leading BOS text from a rendered prompt, for callers
// whose tokenizer adds the BOS token itself (as llama.cpp does).
func TrimBOS(prompt, bos string) string {
	if bos == "" {
		return prompt
	}
	return strings.TrimPrefix(prompt, bos)
}

// Metadata is what ForModel chooses a template from.
type Metadata struct {
	// Template is tokenizer.chat_template ("" if the model has none).
	Template string
	// Name and Arch are general.name and general.architecture.
	Name, Arch string
	// BOS and EOS are the texts of the BOS and EOS tokens.
	BOS, EOS string
	// HasToken reports whether the vocabulary holds a token text; nil
	// means unknown.
	HasToken func(text string) bool
}

// ForModel picks the template for a model: its own Jinja template if it has
// one that renders, else the built-in format its name and vocabulary point
// to, else plain text (base models such as stories260K).
func ForModel(m Metadata, opts ...Option) (*Template, error) {
	family := DetectFamily(m.Template, m.Name, m.HasToken)
	if m.Template != "" {
		t, err := New(m.Template, m.BOS, m.EOS, opts...)
		if err == nil {
			err = smokeTest(t)
		}
		if err == nil {
			return t, nil
		}
		// The Jinja engine does not cover every construct HF's jinja2 does;
		// a model whose template it cannot run still gets its family's
		// format rather than no chat at all.
		if family == FamilyPlain {
			return nil, fmt.Errorf("chattemplate: model template unusable and no known format to fall back to: %w", err)
		}
		b := Builtin(family, m.BOS, m.EOS, opts...)
		b.fallback = err.Error()
		return b, nil
	}
	return Builtin(family, m.BOS, m.EOS, opts...), nil
}

// smokeTest renders the simplest conversation; a template that cannot
// render it is treated as unusable.
func smokeTest(t *Template) error {
	_, err := t.Render([]chat.Turn{{Role: chat.RoleUser, Content: "Hi"}}, true)
	var ce *chat.Error
	if errors.As(err, &ce) && ce.Err != nil {
		return ce.Err
	}
	return err
}
