package chattemplate

import (
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/internal/sharedtest"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/tokenizer"
)

// TestStoriesFromGGUF: the tiny base model has no template, so its prompt
// is the user's text as is.
func TestStoriesFromGGUF(t *testing.T) {
	f, err := gguf.Open(filepath.Join(sharedtest.Dir(t), "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := MetadataFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Template != "" || m.BOS != "<s>" || m.EOS != "</s>" || !m.HasToken("<0x0A>") {
		t.Fatalf("metadata = template %q bos %q eos %q", m.Template, m.BOS, m.EOS)
	}
	tmpl, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render([]chat.Turn{{Role: chat.RoleUser, Content: "Once upon a time"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if got != "Once upon a time" || tmpl.Family() != FamilyPlain {
		t.Errorf("Render = %q (family %s), want the plain prompt", got, tmpl.Family())
	}
}

// TestPhi3FromGGUF renders the template stored in the Phi-3 vocabulary and
// tokenizes the prompt the way the engine will: its markers must come out
// as single control tokens.
func TestPhi3FromGGUF(t *testing.T) {
	f, err := gguf.Open(filepath.Join(sharedtest.Dir(t), "vocab", "ggml-vocab-phi-3.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tmpl, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.IsBuiltin() {
		t.Fatalf("fell back to a built-in: %s", tmpl.Fallback())
	}
	msgs := []chat.Turn{
		{Role: chat.RoleUser, Content: "Hi"},
		{Role: chat.RoleAssistant, Content: "Hello!"},
		{Role: chat.RoleUser, Content: "Bye"},
	}
	got, err := tmpl.Render(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	want := "<s><|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n"
	if got != want {
		t.Fatalf("Render = %q, want %q", got, want)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(TrimBOS(got, "<s>"), true, true)
	user, _ := tok.ID("<|user|>")
	end, _ := tok.ID("<|end|>")
	asst, _ := tok.ID("<|assistant|>")
	count := map[int]int{}
	for _, id := range ids {
		count[id]++
	}
	if ids[0] != tok.BOS() || count[tok.BOS()] != 1 || count[user] != 2 || count[end] != 3 || count[asst] != 2 {
		t.Errorf("ids %v: want one BOS, 2 <|user|>, 3 <|end|>, 2 <|assistant|>", ids)
	}
	if !tok.IsEOG(end) {
		t.Errorf("<|end|> should end generation")
	}
}
