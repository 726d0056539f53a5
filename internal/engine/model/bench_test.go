package model

import (
	"testing"

	"github.com/parley-chat/parley/internal/engine/sample"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// benchDecode measures one token of generation at a context of about 64.
func benchDecode(b *testing.B, m *Model) {
	s, err := m.NewSession(0)
	if err != nil {
		b.Fatal(err)
	}
	logits, err := s.Forward(prompt)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if s.Len() >= 64 {
			s.Truncate(len(prompt))
		}
		if logits, err = s.Forward([]int{sample.Greedy(logits)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

// benchPrefill measures a 64-token prompt in one batch.
func benchPrefill(b *testing.B, m *Model) {
	toks := make([]int, 64)
	for i := range toks {
		toks[i] = (i * 7) % m.Config.Vocab
	}
	s, err := m.NewSession(0)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s.Truncate(0)
		if _, err := s.Forward(toks); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(toks))/b.Elapsed().Seconds(), "tok/s")
}

func BenchmarkDecodeStories260K(b *testing.B) {
	benchDecode(b, openStories(b, Options{}))
}

func BenchmarkPrefillStories260K(b *testing.B) {
	benchPrefill(b, openStories(b, Options{}))
}

// A small synthetic model, big enough that the matrix kernels dominate.
func benchSynthetic(t tensor.Type) synth.Net {
	return synth.Net{Arch: "llama", Embd: 512, Layers: 4, Heads: 8, HeadsKV: 4, FFN: 1408, Vocab: 8192,
		ContextLength: 256, Type: t, Seed: 1}
}

func BenchmarkDecodeSynthetic(b *testing.B) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	for _, typ := range []tensor.Type{tensor.F32, tensor.Q8_0, tensor.Q4_0} {
		b.Run(typ.String(), func(b *testing.B) {
			benchDecode(b, newModel(b, benchSynthetic(typ), Options{Pool: pool}))
		})
	}
}

func BenchmarkPrefillSynthetic(b *testing.B) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	for _, typ := range []tensor.Type{tensor.F32, tensor.Q8_0} {
		b.Run(typ.String(), func(b *testing.B) {
			benchPrefill(b, newModel(b, benchSynthetic(typ), Options{Pool: pool}))
		})
	}
}
