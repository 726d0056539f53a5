package sample

import (
	"math"
	"testing"
)

func TestGreedyFirstMaxWins(t *testing.T) {
	tests := []struct {
		logits []float32
		want   int
	}{
		{[]float32{1, 3, 3, 2}, 1},
		{[]float32{5}, 0},
		{[]float32{-1, -1, -1}, 0},
		{[]float32{0, float32(math.Inf(-1)), 0.5}, 2},
	}
	for _, tc := range tests {
		if got := Greedy(tc.logits); got != tc.want {
			t.Errorf("Greedy(%v) = %d, want %d", tc.logits, got, tc.want)
		}
		if got := New(Params{}).Sample(tc.logits); got != tc.want {
			t.Errorf("zero-temperature Sample(%v) = %d, want %d", tc.logits, got, tc.want)
		}
	}
}

// draw samples n times and returns the frequency of each token.
func draw(p Params, logits []float32, history []int, n int) []float64 {
	s := New(p)
	for _, h := range history {
		s.Accept(h)
	}
	freq := make([]float64, len(logits))
	for range n {
		freq[s.Sample(logits)]++
	}
	for i := range freq {
		freq[i] /= float64(n)
	}
	return freq
}

func TestFilters(t *testing.T) {
	// Probabilities at temperature 1: softmax(log(0.5, 0.3, 0.15, 0.05)).
	logits := []float32{float32(math.Log(0.5)), float32(math.Log(0.3)), float32(math.Log(0.15)), float32(math.Log(0.05))}
	tests := []struct {
		name    string
		p       Params
		allowed []bool
	}{
		{"top-k 2", Params{Temperature: 1, TopK: 2}, []bool{true, true, false, false}},
		{"top-p 0.7", Params{Temperature: 1, TopP: 0.7}, []bool{true, true, false, false}},
		{"top-p 0.75", Params{Temperature: 1, TopP: 0.75}, []bool{true, true, false, false}},
		{"top-p 0.9", Params{Temperature: 1, TopP: 0.9}, []bool{true, true, true, false}},
		{"min-p 0.25", Params{Temperature: 1, MinP: 0.25}, []bool{true, true, true, false}},
		{"min-p 0.5", Params{Temperature: 1, MinP: 0.5}, []bool{true, true, false, false}},
		{"none", Params{Temperature: 1}, []bool{true, true, true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Seed = 7
			freq := draw(tc.p, logits, nil, 4000)
			for i, ok := range tc.allowed {
				if !ok && freq[i] > 0 {
					t.Errorf("token %d drawn with frequency %.3f, should be filtered", i, freq[i])
				}
				if ok && freq[i] == 0 {
					t.Errorf("token %d never drawn", i)
				}
			}
		})
	}
	t.Run("temperature 1 follows the distribution", func(t *testing.T) {
		freq := draw(Params{Temperature: 1, Seed: 3}, logits, nil, 20000)
		for i, want := range []float64{0.5, 0.3, 0.15, 0.05} {
			if math.Abs(freq[i]-want) > 0.02 {
				t.Errorf("token %d frequency %.3f, want %.2f", i, freq[i], want)
			}
		}
	})
	t.Run("low temperature sharpens", func(t *testing.T) {
		freq := draw(Params{Temperature: 0.1, Seed: 3}, logits, nil, 2000)
		if freq[0] < 0.99 {
			t.Errorf("top token frequency %.3f at temperature 0.1", freq[0])
		}
	})
}

func TestSeedReproducible(t *testing.T) {
	logits := make([]float32, 100)
	for i := range logits {
		logits[i] = float32(i%7) * 0.3
	}
	run := func(seed uint64) []int {
		s := New(Params{Temperature: 1, Seed: seed})
		var out []int
		for range 50 {
			out = append(out, s.Sample(logits))
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed diverged at %d", i)
		}
		same = same && a[i] == c[i]
	}
	if same {
		t.Error("different seeds gave identical draws")
	}
}

func TestPenalties(t *testing.T) {
	tests := []struct {
		name    string
		p       Params
		logits  []float32
		history []int
		want    int
	}{
		{"repeat penalty divides positive logit", Params{RepeatPenalty: 2}, []float32{3, 2}, []int{0}, 1},
		{"repeat penalty multiplies negative logit", Params{RepeatPenalty: 2}, []float32{-1, -1.5}, []int{0}, 1},
		{"frequency counts occurrences", Params{FrequencyPenalty: 0.6}, []float32{2, 1}, []int{0, 0}, 1},
		{"frequency once is not enough", Params{FrequencyPenalty: 0.6}, []float32{2, 1}, []int{0}, 0},
		{"presence once", Params{PresencePenalty: 1.5}, []float32{2, 1}, []int{0, 0, 0}, 1},
		{"window forgets old tokens", Params{PresencePenalty: 5, PenaltyLastN: 1}, []float32{2, 1}, []int{0, 1}, 0},
		{"no penalty", Params{}, []float32{2, 1}, []int{0, 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.p)
			for _, h := range tc.history {
				s.Accept(h)
			}
			before := append([]float32(nil), tc.logits...)
			if got := s.Sample(tc.logits); got != tc.want {
				t.Errorf("Sample = %d, want %d", got, tc.want)
			}
			for i := range before {
				if before[i] != tc.logits[i] {
					t.Fatal("Sample modified the logits")
				}
			}
		})
	}
}

func BenchmarkSample32k(b *testing.B) {
	logits := make([]float32, 32000)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)))
	}
	for _, bc := range []struct {
		name string
		p    Params
	}{
		{"topk-topp-minp", Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, Seed: 1}},
		{"greedy", Params{}},
		{"greedy-penalized", Params{RepeatPenalty: 1.1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(bc.p)
			for b.Loop() {
				s.Sample(logits)
			}
		})
	}
}
