package model

// llamaArch covers Llama 1/2/3.x, TinyLlama, SmolLM/SmolLM2, Mistral-style
// dense models and llama2.c conversions: adjacent-pair RoPE, optional
// biases, tied or separate output, llama3 rope scaling through the
// rope_freqs.weight factors the converter stores.
func llamaArch() arch {
	return arch{name: "llama", rope: RoPENormal}
}
