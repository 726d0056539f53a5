package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// TestQuantizeMatchesLlamaQuantize converts the F32 model `parley bench
// synth --shape tiny-kquant --type f32 --seed 1` writes with Quantize and
// compares every tensor's type and bytes with what llama-quantize made of
// the same file (testdata/llamacpp/llama-quantize.json; testdata/README.md
// says how): the Q4_K_M mix rules and the reference quantizers both.
func TestQuantizeMatchesLlamaQuantize(t *testing.T) {
	var g struct {
		Model struct {
			Shape  string
			Seed   uint64
			SHA256 string
		}
		Quantized map[string]map[string][2]string
	}
	data, err := os.ReadFile("../../../testdata/llamacpp/llama-quantize.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	shape, err := LookupShape(g.Model.Shape)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, Options{Shape: shape, Type: tensor.F32, Seed: g.Model.Seed}); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(buf.Bytes()); hex.EncodeToString(sum[:]) != g.Model.SHA256 {
		t.Fatalf("the F32 model's sha256 is %x, llama-quantize read %s: Write changed, so record the golden again (testdata/README.md)", sum, g.Model.SHA256)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range g.Quantized {
		typ, err := tensor.ParseType(name)
		if err != nil {
			t.Fatal(err)
		}
		meta, ts, err := Quantize(f, typ)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != len(want) {
			t.Errorf("%v: %d tensors, llama-quantize wrote %d", typ, len(ts), len(want))
		}
		for _, td := range ts {
			w, ok := want[td.Name]
			sum := sha256.Sum256(td.Data)
			if got := [2]string{tensor.Type(td.Type).String(), hex.EncodeToString(sum[:])}; !ok || got != w {
				t.Errorf("%v: %s is %s %s, llama-quantize's %s %s", typ, td.Name, got[0], got[1][:12], w[0], w[1][:min(12, len(w[1]))])
			}
		}
		var out bytes.Buffer
		if err := gguf.Write(&out, meta, ts); err != nil {
			t.Fatal(err)
		}
		q, err := gguf.Parse(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if ft, _ := q.Uint("general.file_type"); uint32(ft) != ftype[typ] {
			t.Errorf("%v: general.file_type %d, want %d", typ, ft, ftype[typ])
		}
	}
}
