package chattemplate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
)

type goldenCase struct {
	Template     string `json:"template"`
	Conversation string `json:"conversation"`
	AddGen       bool   `json:"add_generation_prompt"`
	BOS          string `json:"bos"`
	EOS          string `json:"eos"`
	Messages     []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Output string `json:"output"`
}

func (c goldenCase) turns() []chat.Turn {
	out := make([]chat.Turn, len(c.Messages))
	for i, m := range c.Messages {
		out[i] = chat.Turn{Role: chat.Role(m.Role), Content: m.Content}
	}
	return out
}

func readGolden(t *testing.T) []goldenCase {
	t.Helper()
	data, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	return cases
}

func readTemplate(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// TestRealTemplates renders the real chat templates of SmolLM2-Instruct,
// Qwen2.5-Instruct, Llama-3.2-Instruct, TinyLlama-chat and Zephyr and
// compares with Python jinja2 rendering them as transformers does
// (testdata/gen_golden.py).
func TestRealTemplates(t *testing.T) {
	compiled := map[string]*Template{}
	for _, c := range readGolden(t) {
		name := c.Template + "/" + c.Conversation
		if c.AddGen {
			name += "+gen"
		}
		t.Run(name, func(t *testing.T) {
			tmpl, ok := compiled[c.Template]
			if !ok {
				var err error
				tmpl, err = New(readTemplate(t, c.Template), c.BOS, c.EOS, WithVar("date_string", "26 Jul 2024"))
				if err != nil {
					t.Fatal(err)
				}
				compiled[c.Template] = tmpl
			}
			got, err := tmpl.Render(c.turns(), c.AddGen)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Output {
				t.Errorf("got\n%q\nwant\n%q", got, c.Output)
			}
		})
	}
}

// TestBuiltinsMatchRealTemplates: where a real template adds nothing of its
// own (no default system prompt, no date header), the built-in format of
// its family must produce the same text.
func TestBuiltinsMatchRealTemplates(t *testing.T) {
	for _, c := range readGolden(t) {
		var f Family
		switch {
		case c.Template == "zephyr" || c.Template == "tinyllama-chat":
			f = FamilyZephyr
		case (c.Template == "smollm2-instruct" || c.Template == "qwen2.5-instruct") && c.Messages[0].Role == "system":
			f = FamilyChatML
		default:
			continue
		}
		got := Builtin(f, c.BOS, c.EOS).Render
		out, err := got(c.turns(), c.AddGen)
		if err != nil {
			t.Fatal(err)
		}
		if out != c.Output {
			t.Errorf("%s %s gen=%v: builtin %s gave\n%q\nwant\n%q", c.Template, c.Conversation, c.AddGen, f, out, c.Output)
		}
	}
}

func TestBuiltinFormats(t *testing.T) {
	conv := []chat.Turn{
		{Role: chat.RoleSystem, Content: "Be brief."},
		{Role: chat.RoleUser, Content: "Hi "},
		{Role: chat.RoleAssistant, Content: "Hello."},
		{Role: chat.RoleUser, Content: "Bye"},
	}
	tests := []struct {
		family   Family
		bos, eos string
		want     string
	}{
		{FamilyLlama2, "<s>", "</s>",
			"<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]"},
		{FamilyLlama3, "<|begin_of_text|>", "<|eot_id|>",
			"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
				"<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
				"<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>" +
				"<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>" +
				"<|start_header_id|>assistant<|end_header_id|>\n\n"},
		{FamilyChatML, "", "<|im_end|>",
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi <|im_end|>\n" +
				"<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"},
		{FamilyPlain, "<s>", "</s>", "Be brief.\nHi \nHello.\nBye"},
	}
	for _, tt := range tests {
		t.Run(string(tt.family), func(t *testing.T) {
			got, err := Builtin(tt.family, tt.bos, tt.eos).Render(conv, true)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestBaseModelPlain: a base model without a template (stories260K) gets
// the user's words and nothing else, so "Once upon a time" continues as a
// story.
func TestBaseModelPlain(t *testing.T) {
	tmpl, err := ForModel(Metadata{Name: "stories260K", Arch: "llama", BOS: "<s>", EOS: "</s>",
		HasToken: func(s string) bool { return s == "<s>" || s == "</s>" }})
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Family() != FamilyPlain || !tmpl.IsBuiltin() {
		t.Fatalf("family %s builtin=%v, want plain builtin", tmpl.Family(), tmpl.IsBuiltin())
	}
	for _, tt := range []struct {
		msgs []chat.Turn
		want string
	}{
		{[]chat.Turn{{Role: chat.RoleUser, Content: "Once upon a time"}}, "Once upon a time"},
		{[]chat.Turn{{Role: chat.RoleSystem, Content: ""}, {Role: chat.RoleUser, Content: "Lily wanted to"}}, "Lily wanted to"},
		{[]chat.Turn{{Role: chat.RoleSystem, Content: "A story."}, {Role: chat.RoleUser, Content: "The little dog"}}, "A story.\nThe little dog"},
	} {
		got, err := tmpl.Render(tt.msgs, true)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("Render(%v) = %q, want %q", tt.msgs, got, tt.want)
		}
	}
}

func TestForModel(t *testing.T) {
	vocab := func(toks ...string) func(string) bool {
		return func(s string) bool {
			for _, t := range toks {
				if t == s {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name        string
		meta        Metadata
		family      Family
		builtin     bool
		hasFallback bool
	}{
		{"own template", Metadata{Template: readTemplate(t, "smollm2-instruct"), EOS: "<|im_end|>"}, FamilyChatML, false, false},
		{"chatml tokens", Metadata{Name: "some-model", HasToken: vocab("<|im_start|>", "<|im_end|>")}, FamilyChatML, true, false},
		{"llama3 tokens", Metadata{HasToken: vocab("<|start_header_id|>", "<|eot_id|>")}, FamilyLlama3, true, false},
		{"zephyr by name", Metadata{Name: "TinyLlama-1.1B-Chat-v1.0"}, FamilyZephyr, true, false},
		{"llama2 by name", Metadata{Name: "Llama-2-7b-chat"}, FamilyLlama2, true, false},
		{"broken template falls back", Metadata{Template: "<|im_start|>{% for m in messages %}{{ m.content", EOS: "<|im_end|>"}, FamilyChatML, true, true},
		{"base model", Metadata{Name: "stories260K"}, FamilyPlain, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := ForModel(tt.meta)
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.Family() != tt.family || tmpl.IsBuiltin() != tt.builtin || (tmpl.Fallback() != "") != tt.hasFallback {
				t.Errorf("family %s builtin %v fallback %q; want %s %v %v",
					tmpl.Family(), tmpl.IsBuiltin(), tmpl.Fallback(), tt.family, tt.builtin, tt.hasFallback)
			}
		})
	}
	if _, err := ForModel(Metadata{Template: "{% if %}"}); err == nil {
		t.Error("unusable template with no known family accepted")
	}
}

func TestRaiseException(t *testing.T) {
	src := "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}{% endfor %}"
	tmpl, err := New(src, "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmpl.Render([]chat.Turn{{Role: chat.RoleSystem, Content: "x"}}, true)
	if chat.KindOf(err) != chat.KindInvalid {
		t.Fatalf("err = %v (kind %v), want an invalid-request error", err, chat.KindOf(err))
	}
	if !strings.Contains(err.Error(), "System role not supported") {
		t.Errorf("cause lost: %v", err)
	}
}

func TestTrimBOS(t *testing.T) {
	if got := TrimBOS("<|begin_of_text|>x", "<|begin_of_text|>"); got != "x" {
		t.Errorf("TrimBOS = %q", got)
	}
	if got := TrimBOS("x", ""); got != "x" {
		t.Errorf("TrimBOS with no bos = %q", got)
	}
}
