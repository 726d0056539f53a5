package openai

import (
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
)

// firstToken holds back what is no token yet (role announcements,
// comments, an event not yet complete) and stops at the first thing a
// client must get, or at an error.
func TestFirstToken(t *testing.T) {
	const role = `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"
	tests := []struct {
		name    string
		stream  string
		found   bool
		errKind chat.Kind // 0: no error
	}{
		{"nothing yet", "", false, 0},
		{"role only", role, false, 0},
		{"role with null content", `data: {"choices":[{"delta":{"role":"assistant","content":null}}]}` + "\n\n", false, 0},
		{"keep-alive then role", ": ping\n\n" + role, false, 0},
		{"token not complete", role + `data: {"choices":[{"delta":{"content":"Hi"}}]}` + "\n", false, 0},
		{"token", role + `data: {"choices":[{"delta":{"content":"Hi"}}]}` + "\n\n", true, 0},
		{"token, CRLF", strings.ReplaceAll(role+`data: {"choices":[{"delta":{"content":"Hi"}}]}`+"\n\n", "\n", "\r\n"), true, 0},
		{"tool call", role + `data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f"}}]}}]}` + "\n\n", true, 0},
		{"legacy text", `data: {"choices":[{"text":"Hi","index":0}]}` + "\n\n", true, 0},
		{"finish at once", `data: {"choices":[{"delta":{},"finish_reason":"length"}]}` + "\n\n", true, 0},
		{"usage only", `data: {"choices":[],"usage":{"prompt_tokens":1}}` + "\n\n", true, 0},
		{"done", "data: [DONE]\n\n", true, 0},
		{"not JSON", "data: hello\n\n", true, 0},
		{"error object", role + `data: {"error":{"message":"out of memory","type":"server_error"}}` + "\n\n", false, chat.KindUpstream},
		{"error event", "event: error\ndata: {\"message\":\"overloaded\",\"type\":\"service_unavailable\"}\n\n", false, chat.KindUnavailable},
		{"empty tool calls, null refusal", `data: {"choices":[{"delta":{"role":"assistant","tool_calls":[],"refusal":null},"logprobs":null}]}` + "\n\n", false, 0},
		{"reasoning first", `data: {"choices":[{"delta":{"reasoning_content":"Hmm"}}]}` + "\n\n", true, 0},
		{"escaped content", `data: {"choices":[{"delta":{"content":"\u00e9"}}]}` + "\n\n", true, 0},
		{"broken JSON in a choice", `data: {"choices":[{"delta":{"content":}]}` + "\n\n", true, 0},
		{"multi-line data", "data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"Hi\"}}]}\n\n", true, 0},
	}
	for _, tt := range tests {
		found, err := firstToken([]byte(tt.stream))
		if found != tt.found || (err == nil) != (tt.errKind == 0) || err != nil && chat.KindOf(err) != tt.errKind {
			t.Errorf("%s: found %v, err %v; want %v, kind %v", tt.name, found, err, tt.found, tt.errKind)
		}
	}
}
