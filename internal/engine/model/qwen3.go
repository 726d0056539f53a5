package model

// qwen3Arch is Qwen3 (dense): no projection biases, but an RMSNorm over
// each head of Q and K (attn_q_norm / attn_k_norm) before neox-style RoPE.
func qwen3Arch() arch {
	return arch{name: "qwen3", rope: RoPENeox, qkNorm: true}
}
