// Package model runs decoder-only transformer architectures over weights
// bound by name from a GGUF file: the llama family (Llama 2/3, TinyLlama,
// SmolLM2, llama2.c conversions), qwen2 and qwen3. An architecture is a small
// spec (which optional tensors it needs, its rope style) in its own file;
// the forward pass, hyper-parameters and weight binding are shared.
package model

import "fmt"

// RoPEStyle says how rotary embeddings pair the dimensions of a head.
type RoPEStyle int

const (
	// RoPENormal rotates adjacent pairs (2i, 2i+1): llama.
	RoPENormal RoPEStyle = iota
	// RoPENeox rotates (i, i+d/2): gpt-neox, qwen2.
	RoPENeox
)

// arch describes what differs between architectures sharing the llama
// block (RMSNorm, attention with RoPE and GQA, SwiGLU FFN).
type arch struct {
	name string
	rope RoPEStyle
	// qkvBias: the Q, K and V projections must carry biases. Other
	// architectures still use biases when the file has them.
	qkvBias bool
	// qkNorm: each head of Q and K is RMS-normalised (with its own weight
	// vector of HeadDim) before RoPE.
	qkNorm bool
}

// lookupArch maps general.architecture to its spec. Adding an architecture
// means a file defining its spec and a line here.
func lookupArch(name string) (arch, error) {
	switch name {
	case "llama":
		return llamaArch(), nil
	case "qwen2":
		return qwen2Arch(), nil
	case "qwen3":
		return qwen3Arch(), nil
	case "":
		return arch{}, fmt.Errorf("model: the file has no general.architecture")
	}
	return arch{}, fmt.Errorf("model: unsupported architecture %q (supported: llama, qwen2, qwen3)", name)
}
