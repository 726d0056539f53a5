package chattemplate

import (
	"strings"

	"github.com/parley-chat/parley/internal/chat"
)

// Family is a prompt format.
type Family string

const (
	// FamilyChatML: <|im_start|>role\ncontent<|im_end|>\n (Qwen, SmolLM).
	FamilyChatML Family = "chatml"
	// FamilyLlama2: [INST] ... [/INST] with <<SYS>> folded into the first
	// user turn.
	FamilyLlama2 Family = "llama2"
	// FamilyLlama3: <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>.
	FamilyLlama3 Family = "llama3"
	// FamilyZephyr: <|role|>\ncontent</s>\n (Zephyr, TinyLlama-chat).
	FamilyZephyr Family = "zephyr"
	// FamilyPlain: message contents one after another, no markup, for base
	// models without a chat template.
	FamilyPlain Family = "plain"
)

// DetectFamily guesses a format from a template's text, else from the
// vocabulary (hasToken may be nil) and the model name.
func DetectFamily(template, name string, hasToken func(string) bool) Family {
	switch {
	case strings.Contains(template, "<|im_start|>"):
		return FamilyChatML
	case strings.Contains(template, "<|start_header_id|>"):
		return FamilyLlama3
	case strings.Contains(template, "[INST]"):
		return FamilyLlama2
	case strings.Contains(template, "<|user|>") && strings.Contains(template, "<|assistant|>"):
		return FamilyZephyr
	}
	has := func(s string) bool { return hasToken != nil && hasToken(s) }
	switch {
	case has("<|im_start|>") && has("<|im_end|>"):
		return FamilyChatML
	case has("<|start_header_id|>") && has("<|eot_id|>"):
		return FamilyLlama3
	case has("<|user|>") && has("<|assistant|>"):
		return FamilyZephyr
	}
	n := strings.ToLower(name)
	chatty := strings.Contains(n, "chat") || strings.Contains(n, "instruct")
	switch {
	case strings.Contains(n, "zephyr"), strings.Contains(n, "tinyllama") && chatty:
		return FamilyZephyr
	case (strings.Contains(n, "llama-2") || strings.Contains(n, "llama2")) && chatty:
		return FamilyLlama2
	case (strings.Contains(n, "llama-3") || strings.Contains(n, "llama3")) && chatty:
		return FamilyLlama3
	case (strings.Contains(n, "qwen") || strings.Contains(n, "smollm")) && chatty:
		return FamilyChatML
	}
	return FamilyPlain
}

func renderBuiltin(f Family, msgs []chat.Turn, gen bool, bos, eos string) string {
	var b strings.Builder
	switch f {
	case FamilyChatML:
		for _, m := range msgs {
			b.WriteString("<|im_start|>" + string(m.Role) + "\n" + m.Content + "<|im_end|>\n")
		}
		if gen {
			b.WriteString("<|im_start|>assistant\n")
		}
	case FamilyLlama3:
		b.WriteString(bos)
		for _, m := range msgs {
			b.WriteString("<|start_header_id|>" + string(m.Role) + "<|end_header_id|>\n\n" +
				strings.TrimSpace(m.Content) + "<|eot_id|>")
		}
		if gen {
			b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
		}
	case FamilyZephyr:
		for _, m := range msgs {
			b.WriteString("<|" + string(m.Role) + "|>\n" + m.Content + eos + "\n")
		}
		if gen {
			b.WriteString("<|assistant|>\n")
		}
	case FamilyLlama2:
		renderLlama2(&b, msgs, bos, eos)
	default:
		// A base model continues text: give it the words, nothing else.
		for i, m := range msgs {
			if i > 0 && m.Content != "" && b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString(m.Content)
		}
	}
	return b.String()
}

// renderLlama2 is Meta's Llama 2 chat format as in its HF template: the
// system prompt wraps into the first user turn; every user turn opens with
// BOS; assistant turns close with EOS. Unlike the HF template it does not
// reject non-alternating roles: consecutive turns of one role are kept.
func renderLlama2(b *strings.Builder, msgs []chat.Turn, bos, eos string) {
	system := ""
	if len(msgs) > 0 && msgs[0].Role == chat.RoleSystem {
		system = msgs[0].Content
		msgs = msgs[1:]
	}
	for i, m := range msgs {
		content := m.Content
		if i == 0 && system != "" {
			content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content
		}
		switch m.Role {
		case chat.RoleUser, chat.RoleSystem:
			b.WriteString(bos + "[INST] " + strings.TrimSpace(content) + " [/INST]")
		case chat.RoleAssistant:
			b.WriteString(" " + strings.TrimSpace(content) + " " + eos)
		}
	}
}
