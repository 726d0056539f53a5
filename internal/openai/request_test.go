package openai_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/openai"
)

const user = `"messages":[{"role":"user","content":"q"}]`

func TestParseRequestRefuses(t *testing.T) {
	tests := []struct {
		name, body string
		legacy     bool
		want       string // the message, whole
	}{
		{"empty", ``, false, "request body is empty; expected a JSON object"},
		{"not an object", `[1]`, false, "request body must be a JSON object"},
		{"syntax", `{"model" "m"}`, false, "request body is not valid JSON at byte 10"},
		{"cut short", `{"model":"m",`, false, "request body is not valid JSON: unexpected end"},
		{"trailing data", `{` + user + `}{}`, false, "request body must hold a single JSON object"},
		{"unknown field", `{"model":"m",` + user + `,"bogus":1}`, false, `unknown field "bogus"`},
		{"duplicate field", `{"model":"a","model":"b",` + user + `}`, false, `field "model" appears more than once`},
		{"messages of the wrong type", `{"model":"m","messages":"hi"}`, false, `field "messages": expected an array, got a string`},
		{"max_tokens as a string", `{` + user + `,"max_tokens":"5"}`, false, `field "max_tokens": expected an integer, got a string`},
		{"max_tokens as a fraction", `{` + user + `,"max_tokens":1.5}`, false, `field "max_tokens": expected an integer, got 1.5`},
		{"temperature as a string", `{` + user + `,"temperature":"hot"}`, false, `field "temperature": expected a number, got a string`},
		{"stream as a string", `{` + user + `,"stream":"yes"}`, false, `field "stream": expected true or false, got a string`},
		{"message not an object", `{"messages":["hi"]}`, false, `messages[0]: expected an object, got a string`},
		{"tool calls in a message", `{"messages":[{"role":"assistant","content":null,"tool_calls":[]}]}`, false, `messages[0]: unknown field "tool_calls"`},
		{"tool role", `{"messages":[{"role":"tool","content":"x"}]}`, false, `messages[0]: role "tool" is not supported`},
		{"content a number", `{"messages":[{"role":"user","content":5}]}`, false, `messages[0].content: expected a string, null or an array of parts, got a number`},
		{"image part", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, false, `messages[0]: content part type "image_url" is not supported`},
		{"part without type", `{"messages":[{"role":"user","content":[{"text":"x"}]}]}`, false, `messages[0]: content part 0 has no type`},
		{"unknown stream option", `{` + user + `,"stream":true,"stream_options":{"include_usage":true,"x":1}}`, false, `unknown field "x" in stream_options`},
		{"stream_options without stream", `{` + user + `,"stream_options":{"include_usage":true}}`, false, "stream_options is only allowed with stream: true"},
		{"json schema", `{` + user + `,"response_format":{"type":"json_schema","json_schema":{}}}`, false, `response_format "json_schema" is not supported; only "text"`},
		{"response format without a type", `{` + user + `,"response_format":{}}`, false, `response_format "" is not supported; only "text"`},
		{"empty tool choice", `{` + user + `,"tool_choice":""}`, false, "tool_choice is not supported; tools (function calling) are not served"},
		{"tool choice object", `{` + user + `,"tool_choice":{"type":"function"}}`, false, "tool_choice is not supported; tools (function calling) are not served"},
		{"seventeen stops", `{` + user + `,"stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}`, false, "stop may hold at most 16 strings"},
		{"deep nesting", `{` + user + `,"tools":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, false, "request body nests deeper than 128 levels"},
		{"prompt on chat", `{"prompt":"x",` + user + `}`, false, `unknown field "prompt"`},
		{"messages on legacy", `{"prompt":"x",` + user + `}`, true, `unknown field "messages"`},
		{"two prompts", `{"prompt":["a","b"]}`, true, "prompt must be one string"},
		{"no prompt", `{"model":"m"}`, true, "prompt must be one string"},
		{"empty prompt", `{"prompt":""}`, true, "prompt must not be empty"},
		{"bad escape", `{"model":"\q",` + user + `}`, false, "request body is not valid JSON at byte 12"},
		{"control character", "{\"model\":\"a\tb\"," + user + "}", false, "request body is not valid JSON at byte 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, decode := range []bool{false, true} {
				_, err := openai.ParseRequest([]byte(tt.body), tt.legacy, decode)
				if chat.KindOf(err) != chat.KindInvalid || chat.MessageOf(err) != tt.want {
					t.Fatalf("decode=%v: %v; want %q", decode, err, tt.want)
				}
			}
		})
	}
}

func TestParseRequestReadsWhatItRoutesOn(t *testing.T) {
	r, err := openai.ParseRequest([]byte(` { "model" : "m\u00e9" , "stream" : true, "stream_options":{"include_usage":true},
		"messages":[{"role":"user","content":"q"}], "max_tokens": 9, "max_completion_tokens": 4 } `), false, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "mé" || !r.Stream || !r.IncludeUsage || r.MaxTokens != 4 || r.Gen.Messages != nil {
		t.Fatalf("got %+v", r)
	}
	r, err = openai.ParseRequest([]byte(`{"prompt":["once \"upon\""],"model":null,"stop":"x"}`), true, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "" || r.Gen.Prompt != `once "upon"` || strings.Join(r.Gen.Params.Stop, ",") != "x" || r.Gen.Params.IgnoreEOS {
		t.Fatalf("got %+v", r.Gen)
	}
	// llama.cpp's ignore_eos extension reaches the backend, and is forwarded.
	r, err = openai.ParseRequest([]byte(`{"prompt":"once","ignore_eos":true}`), true, true)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Gen.Params.IgnoreEOS || !strings.Contains(string(r.AppendBody(nil, "m")), `"ignore_eos":true`) {
		t.Fatalf("ignore_eos: got %+v", r.Gen.Params)
	}
	if _, err := openai.ParseRequest([]byte(`{"prompt":"once","ignore_eos":"yes"}`), true, true); err == nil {
		t.Fatal("ignore_eos \"yes\" accepted")
	}
}

func TestAppendBody(t *testing.T) {
	tests := []struct {
		name, body string
		legacy     bool
		model      string
		limit      int
		want       string
	}{
		{name: "as it came, but compact", body: `{ "model": "m", "messages": [ {"role":"user", "content":"q"} ], "stream": true }`, model: "m",
			want: `{"model": "m","messages": [ {"role":"user", "content":"q"} ],"stream": true}`},
		{name: "model set", body: `{"model":"","messages":[{"role":"user","content":"q"}]}`, model: "chosen",
			want: `{"model":"chosen","messages":[{"role":"user","content":"q"}]}`},
		{name: "model added", body: `{"messages":[{"role":"user","content":"q"}]}`, model: "chosen",
			want: `{"model":"chosen","messages":[{"role":"user","content":"q"}]}`},
		{name: "model escaped", body: `{` + user + `}`, model: "a\"b\n",
			want: `{"model":"a\"b\u000a",` + user + `}`},
		{name: "limit added", body: `{"model":"m",` + user + `}`, model: "m", limit: 100,
			want: `{"model":"m",` + user + `,"max_tokens":100}`},
		{name: "limit caps", body: `{"model":"m","max_tokens":500,` + user + `}`, model: "m", limit: 100,
			want: `{"model":"m",` + user + `,"max_tokens":100}`},
		{name: "lower limit kept", body: `{"model":"m","max_tokens":5,` + user + `}`, model: "m", limit: 100,
			want: `{"model":"m",` + user + `,"max_tokens":5}`},
		{name: "one limit, named max_tokens", body: `{"model":"m","max_tokens":9,"max_completion_tokens":7,` + user + `}`, model: "m",
			want: `{"model":"m",` + user + `,"max_tokens":7}`},
		{name: "developer becomes system", body: `{"messages":[{"role":"developer","content":"a"},{"content":"b","role":"user"},{"role":"developer"}]}`,
			want: `{"messages":[{"role":"system","content":"a"},{"content":"b","role":"user"},{"role":"system"}]}`},
		{name: "ignored fields left out", body: `{"user":"u","model":"m","store":true,"metadata":{"k":"v"},` + user + `,"n":1,"tools":[],"tool_choice":"auto","service_tier":"flex","top_k":3}`, model: "m",
			want: `{"model":"m",` + user + `,"top_k":3}`},
		{name: "legacy", body: `{"prompt":"p","model":"x","temperature":0.5}`, legacy: true, model: "y",
			want: `{"prompt":"p","model":"y","temperature":0.5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openai.ParseRequest([]byte(tt.body), tt.legacy, false)
			if err != nil {
				t.Fatal(err)
			}
			r.LimitTokens(tt.limit)
			got := string(r.AppendBody(nil, tt.model))
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("not JSON: %s", got)
			}
		})
	}
}

// FuzzParseRequest checks the scanner against encoding/json: whatever it
// accepts is JSON, and the body it forwards is JSON that reads back the
// same.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m",` + user + `}`,
		`{"model":"m","messages":[{"role":"developer","content":[{"type":"text","text":"\ud83d\ude00 a\\b"}]},{"role":"user","content":null,"name":"x"}],"stream":true,"stream_options":{"include_usage":false},"temperature":1e-1,"max_tokens":3,"stop":["\n"],"seed":-1,"tools":null,"metadata":{}}`,
		`{"prompt":"p","model":"x","max_completion_tokens":10,"response_format":{"type":"text"}}`,
		`{"messages":[{"role":"user","content":"\u0000\"\/"}],"logit_bias":{}}`,
	} {
		f.Add(s, false)
	}
	f.Add(`{"prompt":["x"]}`, true)
	f.Fuzz(func(t *testing.T, body string, legacy bool) {
		r, err := openai.ParseRequest([]byte(body), legacy, true)
		if err != nil {
			if chat.KindOf(err) != chat.KindInvalid {
				t.Fatalf("error of kind %v: %v", chat.KindOf(err), err)
			}
			return
		}
		if !json.Valid([]byte(body)) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var asJSON struct {
			Model  *string `json:"model"`
			Stream *bool   `json:"stream"`
		}
		if err := json.Unmarshal([]byte(body), &asJSON); err != nil {
			t.Fatalf("encoding/json refuses %q: %v", body, err)
		}
		if asJSON.Model != nil && *asJSON.Model != r.Model || asJSON.Stream != nil && *asJSON.Stream != r.Stream {
			t.Fatalf("%q: read model %q stream %v, encoding/json %v %v", body, r.Model, r.Stream, asJSON.Model, asJSON.Stream)
		}
		r.LimitTokens(7)
		out := r.AppendBody(nil, "fz")
		back, err := openai.ParseRequest(out, legacy, true)
		if err != nil {
			t.Fatalf("forwarded body %s does not read back: %v", out, err)
		}
		if back.Model != "fz" || back.Stream != r.Stream || back.MaxTokens != r.Gen.Params.MaxTokens {
			t.Fatalf("forwarded body %s reads back as %+v", out, back)
		}
		gj, _ := json.Marshal(back.Gen.Messages)
		wj, _ := json.Marshal(r.Gen.Messages)
		if string(gj) != string(wj) || back.Gen.Prompt != r.Gen.Prompt {
			t.Fatalf("forwarded body %s changed the text: %s vs %s", out, gj, wj)
		}
	})
}

var benchBody = []byte(`{"model":"bench-model","messages":[{"role":"system","content":"You are a helpful assistant."},` +
	`{"role":"user","content":"Write a haiku about the sea, please, and keep it short."}],"stream":true,"max_tokens":64,"temperature":0.7}`)

func BenchmarkParseRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		if _, err := openai.ParseRequest(benchBody, false, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAndAppendBody(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		r, err := openai.ParseRequest(benchBody, false, false)
		if err != nil {
			b.Fatal(err)
		}
		r.LimitTokens(32)
		buf = r.AppendBody(buf[:0], "bench-model")
	}
}

// BenchmarkDecodeRequest is what the decoding path costs, for comparison.
func BenchmarkDecodeRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		if _, err := openai.ParseRequest(benchBody, false, true); err != nil {
			b.Fatal(err)
		}
	}
}
