package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/openai"
)

// The concurrency mode against a running server (--url): the streams of
// measureParallel sent as POST /v1/completions, streamed, greedy, with
// ignore_eos, so Parley's model service and llama-server (or any server
// that takes llama.cpp's ignore_eos) answer one load alike, HTTP and
// tokenizer included.

// serverWords make the prompts: each stream's is nPrompt words drawn at
// random, so no two streams (or runs) share a prefix a prompt cache could
// reuse.
var serverWords = strings.Fields(`the a one little girl boy dog cat tree house sun moon
	day night happy sad big small red blue green went saw played ran jumped found
	said asked looked and but then with in on under over near far friend mother
	father garden river ball box bird fish park school toy cake rain snow wind`)

// randomWords draws n (at least one) of serverWords.
func randomWords(rng *rand.Rand, n int) []string {
	w := make([]string, max(n, 1))
	for i := range w {
		w[i] = serverWords[rng.IntN(len(serverWords))]
	}
	return w
}

// completionChunk is what is read of a streamed completion's events.
type completionChunk struct {
	Choices []struct {
		Text string `json:"text"`
	} `json:"choices"`
	Usage *struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Timings *struct {
		PredictedN int `json:"predicted_n"`
	} `json:"timings"` // llama-server's final event
}

// measureServer runs, for each stream count, that many completions at
// once against base (a server's address) for modelName, after one
// warm-up request, and averages the repetitions.
func measureServer(ctx context.Context, base, modelName string, o options, streams []int, log io.Writer) ([]parRow, error) {
	url := strings.TrimSuffix(base, "/") + "/v1/completions"
	maxP := 0
	for _, p := range streams {
		maxP = max(maxP, p)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: maxP, MaxConnsPerHost: maxP}}
	defer client.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(1, 2))
	run := func(p, nPrompt, nGen int) (parRow, error) {
		prompts := make([]string, p)
		for i := range prompts {
			prompts[i] = strings.Join(randomWords(rng, nPrompt), " ")
		}
		return measureStreams(p, func(i int, token func(int)) error {
			return streamCompletion(ctx, client, url, modelName, prompts[i], nGen, token)
		})
	}
	if _, err := run(1, min(o.nPrompt, 16), 4); err != nil {
		return nil, fmt.Errorf("warm-up request to %s: %w", url, err)
	}
	var rows []parRow
	for _, p := range streams {
		r, err := repeatStreams(o.repetitions, func() (parRow, error) { return run(p, o.nPrompt, o.nGen) })
		if err != nil {
			return rows, err
		}
		r.file, r.model, r.parallel, r.nPrompt, r.nGen = base, modelName, p, o.nPrompt, o.nGen
		fmt.Fprintf(log, "%s: %d streams: %.2f t/s aggregate, %.2f t/s per stream, first token after %v\n",
			base, p, r.aggregate, r.perStream, r.ttft.Round(time.Millisecond))
		rows = append(rows, r)
	}
	return rows, nil
}

// streamCompletion sends one streamed completion and calls token for each
// event that carries text; the count is corrected to the server's own at
// the end (usage, or llama-server's timings) when it reports one, as a
// token that ends inside a character may arrive with no text.
func streamCompletion(ctx context.Context, client *http.Client, url, modelName, prompt string, nGen int, token func(int)) error {
	counted, reported := 0, 0
	err := postStream(ctx, client, url, map[string]any{
		"model": modelName, "prompt": prompt, "max_tokens": nGen, "temperature": 0,
		"stream": true, "stream_options": map[string]any{"include_usage": true}, "ignore_eos": true,
	}, func(data []byte) error {
		var c completionChunk
		if err := json.Unmarshal(data, &c); err != nil {
			return err
		}
		if len(c.Choices) > 0 && c.Choices[0].Text != "" {
			counted++
			token(1)
		}
		switch {
		case c.Usage != nil:
			reported = c.Usage.CompletionTokens
		case c.Timings != nil:
			reported = c.Timings.PredictedN
		}
		return nil
	})
	if err != nil {
		return err
	}
	if reported > counted {
		token(reported - counted)
	}
	return nil
}

// postStream posts body (as JSON) to url and calls event with the data of
// each event of the answer's stream until "data: [DONE]".
func postStream(ctx context.Context, client *http.Client, url string, body any, event func(data []byte) error) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	events := openai.NewSSEReader(resp.Body, 0)
	for {
		ev, err := events.Next()
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("reading the stream from %s: %w", url, err)
		case openai.IsDone(ev):
			return nil
		}
		if err := event(ev.Data); err != nil {
			return fmt.Errorf("%s sent an event that is not the JSON expected: %w", url, err)
		}
	}
}

// turnRow is one line of the second-turn table: a chat's first turn and
// its next one against a server.
type turnRow struct {
	url, model          string
	words, promptTokens int
	first, second       time.Duration
	cached              int // the server's usage.prompt_tokens_details.cached_tokens of the second turn
}

// chatChunk is what is read of a streamed chat completion's events.
type chatChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens        int `json:"prompt_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
}

// measureSecondTurn times the first token of a chat's first turn (a user
// message of nPrompt random words) and of its second turn (that message,
// the reply and a short question), as a prompt cache meets them: the
// second turn's prompt begins with the first's. Each repetition is a new
// chat.
func measureSecondTurn(ctx context.Context, base, modelName string, o options, log io.Writer) ([]turnRow, error) {
	url := strings.TrimSuffix(base, "/") + "/v1/chat/completions"
	client := &http.Client{}
	defer client.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(3, 4))
	var rows []turnRow
	for range o.repetitions {
		w := randomWords(rng, o.nPrompt)
		msgs := []map[string]string{
			{"role": "system", "content": "You are a helpful assistant."},
			{"role": "user", "content": strings.Join(w, " ")},
		}
		first, reply, prompt, _, err := streamChat(ctx, client, url, modelName, msgs, o.nGen)
		if err != nil {
			return rows, err
		}
		msgs = append(msgs, map[string]string{"role": "assistant", "content": reply},
			map[string]string{"role": "user", "content": "And then what happened?"})
		second, _, _, cached, err := streamChat(ctx, client, url, modelName, msgs, o.nGen)
		if err != nil {
			return rows, err
		}
		r := turnRow{url: base, model: modelName, words: len(w), promptTokens: prompt, first: first, second: second, cached: cached}
		fmt.Fprintf(log, "%s: first turn (%d prompt tokens) %v to the first token, second turn %v (%.3fx, %d tokens cached)\n",
			base, prompt, first.Round(time.Millisecond), second.Round(time.Millisecond), float64(second)/float64(first), cached)
		rows = append(rows, r)
	}
	return rows, nil
}

// streamChat sends one streamed, greedy chat completion and returns the
// time to its first text, the text, and the prompt and cached tokens the
// server reported (0 when it does not).
func streamChat(ctx context.Context, client *http.Client, url, modelName string, msgs []map[string]string, nGen int) (ttft time.Duration, text string, prompt, cached int, err error) {
	var sb strings.Builder
	start := time.Now()
	err = postStream(ctx, client, url, map[string]any{
		"model": modelName, "messages": msgs, "max_tokens": nGen, "temperature": 0,
		"stream": true, "stream_options": map[string]any{"include_usage": true},
	}, func(data []byte) error {
		var c chatChunk
		if err := json.Unmarshal(data, &c); err != nil {
			return err
		}
		if len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
			if ttft == 0 {
				ttft = time.Since(start)
			}
			sb.WriteString(c.Choices[0].Delta.Content)
		}
		if c.Usage != nil {
			prompt = c.Usage.PromptTokens
			if c.Usage.PromptTokensDetails != nil {
				cached = c.Usage.PromptTokensDetails.CachedTokens
			}
		}
		return nil
	})
	if err == nil && ttft == 0 {
		err = fmt.Errorf("%s streamed no text", url)
	}
	return ttft, sb.String(), prompt, cached, err
}

// writeTurnTable writes the second-turn results as a markdown table.
func writeTurnTable(w io.Writer, rows []turnRow) {
	fmt.Fprintln(w, "| server | model | prompt tokens | first turn TTFT ms | second turn TTFT ms | second / first | cached tokens |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %d | %.1f | %.1f | %.3f | %d |\n", r.url, r.model, r.promptTokens,
			ms(r.first), ms(r.second), float64(r.second)/float64(r.first), r.cached)
	}
}
