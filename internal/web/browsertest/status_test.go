package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testupstream"
)

// On page load the picker shows whether the model can be reached, and
// with none reachable the page says so before anything is typed.
func TestModelStatus(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(time.Millisecond))
	up.SetOptions(func(o *testupstream.Options) { o.ModelsStatus, o.Status = 503, 503 })
	base := startParley(t, up.URL)
	for _, o := range []struct {
		name string
		opt  browserOpt
	}{
		{"29-model-down", browserOpt{}},
		{"29-model-down-dark", browserOpt{dark: true}},
		{"29-model-down-phone", browserOpt{width: 375, height: 740}},
		{"29-model-down-phone-dark", browserOpt{width: 375, height: 740, dark: true}},
	} {
		b := newBrowser(t, base, o.opt)
		b.open("/")
		b.waitJS(`document.getElementById('model').dataset.status === 'down' && !document.getElementById('model-status').hidden`)
		if got := b.text("#model-status"); !strings.Contains(got, "No model is reachable") {
			t.Errorf("%s: the page says %q", o.name, got)
		}
		b.screenshot(o.name)
		if o.name != "29-model-down" {
			continue
		}
		// The model comes back: Check again says so.
		up.SetOptions(func(o *testupstream.Options) { o.ModelsStatus, o.Status = 0, 0 })
		b.click("#model-status .link-btn")
		b.waitJS(`document.getElementById('model').dataset.status === 'ready' && document.getElementById('model-status').hidden`)
		if got := b.text("#model option"); got != "test-model" && !strings.Contains(got, "Default") {
			t.Errorf("the picker shows %q after the model came back", got)
		}
		b.send("hello again")
		b.waitReplies(1)
		up.SetOptions(func(o *testupstream.Options) { o.ModelsStatus, o.Status = 503, 503 })
	}
	// A reachable model: no notice, the picker says it is ready.
	up.SetOptions(func(o *testupstream.Options) { o.ModelsStatus, o.Status = 0, 0 })
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitJS(`document.getElementById('model').dataset.status === 'ready'`)
	var hidden bool
	b.eval(`document.getElementById('model-status').hidden`, &hidden)
	if !hidden {
		t.Errorf("a notice with the model reachable: %q", b.text("#model-status"))
	}
	if got := b.text("#model option"); got != "test-model" {
		t.Errorf("the picker shows %q", got)
	}
	b.checkClean()
}
