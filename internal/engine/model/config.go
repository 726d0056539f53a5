package model

import (
	"fmt"
	"math"

	"github.com/parley-chat/parley/internal/engine/gguf"
)

// Config holds the hyper-parameters read from the {arch}.* keys.
type Config struct {
	Arch          string
	ContextLength int // trained context window
	Embd          int // hidden size
	Layers        int
	Heads         int
	HeadsKV       int
	HeadDim       int // per-head width of Q and K (and V)
	FFN           int // feed-forward hidden size
	Vocab         int
	RMSEps        float32
	RoPEDim       int // leading dims of each head that are rotated
	RoPEBase      float32
	RoPEStyle     RoPEStyle
	// RoPEScale multiplies positions (linear rope scaling: 1/factor).
	RoPEScale float32
}

// keys reads {arch}.* metadata with defaults matching llama.cpp.
type keys struct {
	f    *gguf.File
	arch string
	err  error
}

func (k *keys) uint(name string, def int, required bool) int {
	key := k.arch + "." + name
	v, ok := k.f.Uint(key)
	if !ok {
		_, present := k.f.Value(key)
		if present && k.err == nil {
			k.err = fmt.Errorf("model: %s is not a non-negative integer", key)
		}
		if required && !present && k.err == nil {
			k.err = fmt.Errorf("model: missing %s", key)
		}
		return def
	}
	if v > 1<<24 && k.err == nil {
		k.err = fmt.Errorf("model: %s = %d is implausibly large", key, v)
	}
	return int(v)
}

func (k *keys) float(name string, def float64) float32 {
	key := k.arch + "." + name
	v, ok := k.f.Float(key)
	if !ok {
		if _, present := k.f.Value(key); present && k.err == nil {
			k.err = fmt.Errorf("model: %s is not a number", key)
		}
		return float32(def)
	}
	return float32(v)
}

func readConfig(f *gguf.File, a arch) (Config, error) {
	k := &keys{f: f, arch: a.name}
	c := Config{Arch: a.name, RoPEStyle: a.rope}
	c.ContextLength = k.uint("context_length", 2048, false)
	if c.ContextLength == 0 {
		c.ContextLength = 2048
	}
	c.Embd = k.uint("embedding_length", 0, true)
	c.Layers = k.uint("block_count", 0, true)
	c.FFN = k.uint("feed_forward_length", 0, true)
	c.Heads = k.uint("attention.head_count", 0, true)
	c.HeadsKV = k.uint("attention.head_count_kv", c.Heads, false)
	if k.err != nil {
		return c, k.err
	}
	if c.Embd == 0 || c.Layers == 0 || c.FFN == 0 || c.Heads == 0 || c.HeadsKV == 0 {
		return c, fmt.Errorf("model: zero dimension in %s hyper-parameters %+v", a.name, c)
	}
	if c.Heads%c.HeadsKV != 0 {
		return c, fmt.Errorf("model: %d heads are not a multiple of %d KV heads", c.Heads, c.HeadsKV)
	}
	c.HeadDim = k.uint("attention.key_length", c.Embd/c.Heads, false)
	if v := k.uint("attention.value_length", c.HeadDim, false); v != c.HeadDim && k.err == nil {
		k.err = fmt.Errorf("model: value length %d differs from key length %d (unsupported)", v, c.HeadDim)
	}
	c.RMSEps = k.float("attention.layer_norm_rms_epsilon", 1e-5)
	c.RoPEDim = k.uint("rope.dimension_count", c.HeadDim, false)
	c.RoPEBase = k.float("rope.freq_base", 10000)
	c.RoPEScale = 1
	if st, _ := f.String(a.name + ".rope.scaling.type"); st == "linear" {
		if fac := k.float("rope.scaling.factor", 1); fac > 0 {
			c.RoPEScale = 1 / fac
		}
	} else if fac := k.float("rope.scale_linear", 1); fac > 0 && fac != 1 {
		c.RoPEScale = 1 / fac
	}
	if k.err != nil {
		return c, k.err
	}
	if c.HeadDim == 0 || c.RoPEDim > c.HeadDim || c.RoPEDim%2 != 0 {
		return c, fmt.Errorf("model: rope dimension %d does not fit head dimension %d", c.RoPEDim, c.HeadDim)
	}
	if c.RMSEps <= 0 || math.IsNaN(float64(c.RMSEps)) || c.RoPEBase <= 0 {
		return c, fmt.Errorf("model: invalid rms epsilon %g or rope base %g", c.RMSEps, c.RoPEBase)
	}
	return c, nil
}

// ropeFreqs returns, per rotated pair i, the angle per position:
// scale * base^(-2i/dim) / factors[i]. The powers are built by repeated
// float32 multiplication, as ggml's rope cache does, so angles match it.
func ropeFreqs(c Config, factors []float32) []float32 {
	theta := float32(math.Pow(float64(c.RoPEBase), -2/float64(c.RoPEDim)))
	out := make([]float32, c.RoPEDim/2)
	f := float32(1)
	for i := range out {
		v := f
		if factors != nil {
			v /= factors[i]
		}
		out[i] = v * c.RoPEScale
		f *= theta
	}
	return out
}
