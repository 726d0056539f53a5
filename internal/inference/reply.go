package inference

import (
	"net/http"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/openai"
)

// reply builds the wire objects of one answer, chat or legacy.
type reply struct {
	w       http.ResponseWriter
	sse     *httpx.SSE
	legacy  bool
	id      string
	created int64
	model   string
}

// start sends the stream's headers and, for chat, the role chunk, once.
func (rs *reply) start() error {
	if rs.sse != nil {
		return nil
	}
	sse, err := httpx.NewSSE(rs.w)
	if err != nil {
		return err
	}
	rs.sse = sse
	if rs.legacy {
		return nil
	}
	c := rs.chunk()
	c.Choices = []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Role: "assistant", Content: openai.Ptr("")}}}
	return sse.Data(c)
}

// finish ends a streamed reply: the finish chunk, the usage chunk when
// asked for, [DONE]. Failing writes mean the client left: nothing to say.
func (rs *reply) finish(gen chat.Generation, includeUsage bool) error {
	if err := rs.start(); err != nil {
		return err
	}
	if err := rs.sse.Data(rs.finishChunk(gen.FinishReason)); err != nil {
		return nil
	}
	if includeUsage {
		if err := rs.sse.Data(rs.usageChunk(gen.Usage)); err != nil {
			return nil
		}
	}
	_ = rs.sse.Done()
	return nil
}

// settle takes the model that actually answered.
func (rs *reply) settle(gen chat.Generation) {
	if gen.Model != "" {
		rs.model = gen.Model
	}
}

func finishOf(reason string) *string {
	if reason == "" {
		reason = chat.FinishStop
	}
	return &reason
}

func usageOf(u chat.Usage) *openai.Usage {
	out := &openai.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		TotalTokens: u.PromptTokens + u.CompletionTokens}
	if u.CachedTokens > 0 {
		out.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: u.CachedTokens}
	}
	return out
}

func (rs *reply) chunk() *openai.ChatCompletionChunk {
	return &openai.ChatCompletionChunk{ID: rs.id, Object: openai.ObjectChatCompletionChunk, Created: rs.created,
		Model: rs.model}
}

func (rs *reply) completion() *openai.Completion {
	return &openai.Completion{ID: rs.id, Object: openai.ObjectTextCompletion, Created: rs.created,
		Model: rs.model}
}

func (rs *reply) deltaChunk(text string) any {
	if rs.legacy {
		c := rs.completion()
		c.Choices = []openai.CompletionChoice{{Text: text}}
		return c
	}
	c := rs.chunk()
	c.Choices = []openai.ChatChunkChoice{{Delta: openai.ChatDelta{Content: &text}}}
	return c
}

func (rs *reply) finishChunk(reason string) any {
	if rs.legacy {
		c := rs.completion()
		c.Choices = []openai.CompletionChoice{{FinishReason: finishOf(reason)}}
		return c
	}
	c := rs.chunk()
	c.Choices = []openai.ChatChunkChoice{{FinishReason: finishOf(reason)}}
	return c
}

// usageChunk is the include_usage chunk: usage and an empty (not null)
// choices array.
func (rs *reply) usageChunk(u chat.Usage) any {
	if rs.legacy {
		c := rs.completion()
		c.Choices = []openai.CompletionChoice{}
		c.Usage = usageOf(u)
		return c
	}
	c := rs.chunk()
	c.Choices = []openai.ChatChunkChoice{}
	c.Usage = usageOf(u)
	return c
}

func (rs *reply) whole(text string, gen chat.Generation) any {
	if rs.legacy {
		c := rs.completion()
		c.Choices = []openai.CompletionChoice{{Text: text, FinishReason: finishOf(gen.FinishReason)}}
		c.Usage = usageOf(gen.Usage)
		return c
	}
	return &openai.ChatCompletion{
		ID: rs.id, Object: openai.ObjectChatCompletion, Created: rs.created, Model: rs.model, Usage: usageOf(gen.Usage),
		Choices: []openai.ChatChoice{{
			Message:      openai.ResponseMessage{Role: "assistant", Content: &text},
			FinishReason: finishOf(gen.FinishReason),
		}},
	}
}
