package model

// qwen2Arch is Qwen2/Qwen2.5: the llama block with biases on the Q, K and V
// projections and neox-style RoPE.
func qwen2Arch() arch {
	return arch{name: "qwen2", rope: RoPENeox, qkvBias: true}
}
