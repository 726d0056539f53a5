package openai_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/openai"
)

func TestDecodeChatRequest(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    chat.GenerateRequest
		wantErr chat.Kind
	}{
		{
			name: "string content and stop string",
			body: `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"stop":"END","max_tokens":5}`,
			want: chat.GenerateRequest{Model: "m", Messages: []chat.Turn{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}},
				Params: chat.Params{Stop: []string{"END"}, MaxTokens: 5}},
		},
		{
			name: "array of parts, developer role, stop array, max_completion_tokens wins",
			body: `{"model":"m","messages":[{"role":"developer","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"user","content":"q"}],"stop":["x","y"],"max_tokens":9,"max_completion_tokens":3}`,
			want: chat.GenerateRequest{Model: "m", Messages: []chat.Turn{{Role: "system", Content: "ab"}, {Role: "user", Content: "q"}},
				Params: chat.Params{Stop: []string{"x", "y"}, MaxTokens: 3}},
		},
		{name: "null content is empty", body: `{"model":"m","messages":[{"role":"assistant","content":null},{"role":"user","content":"q"}]}`,
			want: chat.GenerateRequest{Model: "m", Messages: []chat.Turn{{Role: "assistant"}, {Role: "user", Content: "q"}}}},
		{name: "image part refused", body: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, wantErr: chat.KindInvalid},
		{name: "tool role refused", body: `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, wantErr: chat.KindInvalid},
		{name: "no messages", body: `{"model":"m","messages":[]}`, wantErr: chat.KindInvalid},
		{name: "temperature out of range", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"temperature":3}`, wantErr: chat.KindInvalid},
		{name: "n=2 refused", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"n":2}`, wantErr: chat.KindInvalid},
		{name: "max_tokens 0 refused", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"max_tokens":0}`, wantErr: chat.KindInvalid},
		{name: "harmless client fields accepted", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"n":1,"user":"u","store":false,"metadata":{"k":"v"},"response_format":{"type":"text"},"logprobs":false}`,
			want: chat.GenerateRequest{Model: "m", Messages: []chat.Turn{{Role: "user", Content: "q"}}}},
		{name: "json response format refused", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_object"}}`, wantErr: chat.KindInvalid},
		{name: "logit bias refused", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"logit_bias":{"50256":-100}}`, wantErr: chat.KindInvalid},
		{name: "SDK hints accepted", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"service_tier":"auto","parallel_tool_calls":false,"prompt_cache_key":"k","safety_identifier":"s","tools":[],"tool_choice":"none"}`,
			want: chat.GenerateRequest{Model: "m", Messages: []chat.Turn{{Role: "user", Content: "q"}}}},
		{name: "tools refused", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"f"}}]}`, wantErr: chat.KindInvalid},
		{name: "forced tool choice refused", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"tool_choice":"required"}`, wantErr: chat.KindInvalid},
		{name: "empty stop refused", body: `{"model":"m","messages":[{"role":"user","content":"q"}],"stop":[""]}`, wantErr: chat.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := openai.ParseRequest([]byte(tt.body), false, true)
			if tt.wantErr != 0 {
				if err == nil || chat.KindOf(err) != tt.wantErr {
					t.Fatalf("err = %v, want kind %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gj, _ := json.Marshal(req.Gen)
			wj, _ := json.Marshal(tt.want)
			if string(gj) != string(wj) {
				t.Fatalf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

func TestWireSyntaxErrors(t *testing.T) {
	for _, body := range []string{
		`{"messages":[{"role":"user","content":5}]}`,
		`{"messages":[{"role":"user","content":[{"text":"no type"}]}]}`,
		`{"stop":5}`,
	} {
		var wire openai.ChatCompletionRequest
		if err := json.Unmarshal([]byte(body), &wire); err == nil {
			t.Errorf("%s: want an error", body)
		}
		if _, err := openai.ParseRequest([]byte(body), false, true); chat.KindOf(err) != chat.KindInvalid {
			t.Errorf("%s: ParseRequest: %v, want an invalid request", body, err)
		}
	}
}

func TestParamsRoundTrip(t *testing.T) {
	p := chat.Params{
		Temperature: openai.Ptr(0.5), TopP: openai.Ptr(0.9), TopK: openai.Ptr(40), MinP: openai.Ptr(0.05),
		RepeatPenalty: openai.Ptr(1.1), FrequencyPenalty: openai.Ptr(0.2), PresencePenalty: openai.Ptr(-0.2),
		Seed: openai.Ptr(int64(7)), MaxTokens: 12, Stop: []string{"\n\n"},
	}
	for _, useMCT := range []bool{false, true} {
		wire := openai.ParamsToWire(p, useMCT)
		b, _ := json.Marshal(wire)
		if useMCT != strings.Contains(string(b), `"max_completion_tokens":12`) {
			t.Fatalf("useMaxCompletionTokens=%v: %s", useMCT, b)
		}
		body, _ := json.Marshal(openai.ChatCompletionRequest{Model: "m", Messages: []openai.Message{{Role: "user", Content: openai.TextContent("q")}}, SamplingParams: wire})
		req, err := openai.ParseRequest(body, false, true)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(req.Gen.Params)
		wj, _ := json.Marshal(p)
		if string(gj) != string(wj) {
			t.Fatalf("round trip: got %s want %s", gj, wj)
		}
	}
}

func TestErrorBodyForms(t *testing.T) {
	tests := []struct{ body, msg, code string }{
		{`{"error":{"message":"bad","type":"invalid_request_error","code":"x"}}`, "bad", "x"},
		{`{"error":{"message":"bad","code":500}}`, "bad", "500"},
		{`{"error":"plain"}`, "plain", ""},
		{`{"object":"error","message":"vllm","code":400}`, "vllm", "400"},
		{`upstream exploded`, "upstream exploded", ""},
		{`<html>502</html>`, "", ""},
	}
	for _, tt := range tests {
		eb := openai.ParseErrorBody([]byte(tt.body))
		if eb.Message != tt.msg || eb.CodeString() != tt.code {
			t.Errorf("%s: got %q/%q, want %q/%q", tt.body, eb.Message, eb.CodeString(), tt.msg, tt.code)
		}
	}
}
