// Package sample turns a model's next-token logits into a token id: greedy
// argmax, or penalties, top-k, top-p, min-p and temperature followed by a
// draw from a seeded random source, in llama.cpp's default order.
package sample

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Params configures a Sampler. The zero value is greedy decoding without
// penalties.
type Params struct {
	// Temperature <= 0 selects greedy decoding (argmax, first max wins).
	Temperature float64
	// TopK keeps the K most likely tokens; <= 0 disables it.
	TopK int
	// TopP keeps the smallest set of tokens whose probabilities sum to at
	// least TopP; 0 or >= 1 disables it.
	TopP float64
	// MinP drops tokens less likely than MinP times the most likely one;
	// <= 0 disables it.
	MinP float64
	// RepeatPenalty divides positive (multiplies negative) logits of tokens
	// seen in the last PenaltyLastN tokens; 0 or 1 disables it.
	RepeatPenalty float64
	// FrequencyPenalty is subtracted once per occurrence, PresencePenalty
	// once for any occurrence, over the same window (OpenAI's semantics).
	FrequencyPenalty float64
	PresencePenalty  float64
	// PenaltyLastN is the penalty window; 0 means 64, < 0 the whole history.
	PenaltyLastN int
	// Seed seeds the random source; equal seeds give equal draws.
	Seed uint64
}

// Sampler picks tokens. It remembers the tokens passed to Accept for the
// penalties. It is not safe for concurrent use.
type Sampler struct {
	p       Params
	rng     *rand.Rand
	history []int
	cands   []candidate
	counts  map[int]int
}

type candidate struct {
	id    int
	logit float32
	p     float64
}

// New returns a Sampler for p.
func New(p Params) *Sampler {
	if p.PenaltyLastN == 0 {
		p.PenaltyLastN = 64
	}
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)), counts: map[int]int{}}
}

// Accept records a token of the sequence (prompt or generated) for the
// penalties.
func (s *Sampler) Accept(token int) { s.history = append(s.history, token) }

// Greedy returns the index of the largest logit; the first one on ties.
func Greedy(logits []float32) int {
	if len(logits) == 0 {
		return 0
	}
	// The running maximum in a register, not reloaded from the slice:
	// a third faster over a 32k vocabulary.
	best, top := 0, logits[0]
	for i, l := range logits {
		if l > top {
			best, top = i, l
		}
	}
	return best
}

func (s *Sampler) penalized() bool {
	p := s.p
	return (p.RepeatPenalty != 0 && p.RepeatPenalty != 1) || p.FrequencyPenalty != 0 || p.PresencePenalty != 0
}

// Sample picks the next token from logits (not modified).
func (s *Sampler) Sample(logits []float32) int {
	if s.p.Temperature <= 0 && !s.penalized() {
		// Plain greedy needs no candidate list: building one for a
		// 49k-token vocabulary is about a megabyte written per token,
		// per sequence of a batch.
		return Greedy(logits)
	}
	s.cands = s.cands[:0]
	for i, l := range logits {
		s.cands = append(s.cands, candidate{id: i, logit: l})
	}
	if s.penalized() {
		s.applyPenalties()
	}
	if s.p.Temperature <= 0 {
		best := 0
		for i, c := range s.cands {
			if c.logit > s.cands[best].logit {
				best = i
			}
		}
		return s.cands[best].id
	}
	c := s.cands
	if k := s.p.TopK; k > 0 && k < len(c) {
		c = topK(c, k)
	}
	if mp, tp := s.p.MinP, s.p.TopP; mp > 0 && (tp <= 0 || tp >= 1) {
		// Cheap pre-cut before sorting; exact because the cut below is the
		// same test and no top-p normalisation comes in between.
		floor := float64(maxLogit(c)) + math.Log(mp)
		kept := c[:0]
		for _, x := range c {
			if float64(x.logit) >= floor {
				kept = append(kept, x)
			}
		}
		c = kept
	}
	// Sorting by logit (ties by id, as in a stable sort of the vocabulary)
	// makes every filter below a prefix cut.
	slices.SortFunc(c, byLogit)
	if p := s.p.TopP; p > 0 && p < 1 {
		softmax(c, 1)
		var cum float64
		for i := range c {
			cum += c[i].p
			if cum >= p {
				c = c[:i+1]
				break
			}
		}
	}
	if mp := s.p.MinP; mp > 0 {
		// Relative to the best logit: p_i >= mp*p_max <=> l_i >= l_max + ln(mp).
		floor := float64(c[0].logit) + math.Log(mp)
		for i := 1; i < len(c); i++ {
			if float64(c[i].logit) < floor {
				c = c[:i]
				break
			}
		}
	}
	softmax(c, float32(s.p.Temperature))
	r := s.rng.Float64()
	var cum float64
	for _, x := range c {
		cum += x.p
		if r < cum {
			return x.id
		}
	}
	return c[len(c)-1].id
}

func byLogit(a, b candidate) int {
	switch {
	case a.logit > b.logit:
		return -1
	case a.logit < b.logit:
		return 1
	}
	return a.id - b.id
}

func maxLogit(c []candidate) float32 {
	m := c[0].logit
	for _, x := range c[1:] {
		m = max(m, x.logit)
	}
	return m
}

// topK moves the k best candidates (by byLogit) to the front of c and
// returns them, unordered, in O(n log k) with a min-heap.
func topK(c []candidate, k int) []candidate {
	h := c[:k]
	// worse(i, j): h[i] ranks below h[j].
	worse := func(i, j int) bool { return byLogit(h[i], h[j]) > 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= k {
				return
			}
			if r := l + 1; r < k && worse(r, l) {
				l = r
			}
			if !worse(l, i) {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, x := range c[k:] {
		if byLogit(x, h[0]) < 0 {
			h[0] = x
			down(0)
		}
	}
	return h
}

func (s *Sampler) applyPenalties() {
	window := s.history
	if n := s.p.PenaltyLastN; n > 0 && len(window) > n {
		window = window[len(window)-n:]
	}
	clear(s.counts)
	for _, t := range window {
		s.counts[t]++
	}
	rp := float32(s.p.RepeatPenalty)
	for t, n := range s.counts {
		if t < 0 || t >= len(s.cands) {
			continue
		}
		l := s.cands[t].logit
		if rp != 0 && rp != 1 {
			if l <= 0 {
				l *= rp
			} else {
				l /= rp
			}
		}
		l -= float32(float64(n)*s.p.FrequencyPenalty + s.p.PresencePenalty)
		s.cands[t].logit = l
	}
}

// softmax sets c[i].p from the logits divided by temp; c is sorted, so
// c[0] holds the maximum.
func softmax(c []candidate, temp float32) {
	m := c[0].logit / temp
	var sum float64
	for i := range c {
		c[i].p = math.Exp(float64(c[i].logit/temp - m))
		sum += c[i].p
	}
	for i := range c {
		c[i].p /= sum
	}
}
