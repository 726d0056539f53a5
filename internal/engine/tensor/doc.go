// Package tensor holds the numeric kernels of Parley's pure-Go inference
// engine: the GGML block formats (Dequantize, Quantize), quantized
// matrix-vector and matrix-matrix products and causal attention spread
// over a fixed worker Pool, and the vector ops a transformer layer needs
// (RMSNorm, Softmax, RoPE, SwiGLU, Dot, Axpy, ...).
//
// Mat-vecs dominate generation, so they work like ggml's: the activation
// vector is quantized once per call to 8-bit blocks of 32 (float32 scale per
// block) and each weight row is dotted with it in integer arithmetic; F32,
// F16 and BF16 weights use float dots.
//
// Batches (a prompt's tokens, MatMul with n >= 4) run as a cache-blocked
// GEMM: the vectors are packed into panels of 16 (8 below AVX-512) with
// the vectors in a register's lanes, and a micro-kernel multiplies four
// weight rows by up to four panels at once, so each weight is loaded once
// per 64 vectors and no horizontal sums are needed. Quantized weights are
// decoded four rows at a time into int8 levels with a scale per 32, and
// multiplied with VPDPBUSD (AVX-512 VNNI). Work items are a block of
// vectors that stays in L2 times a chunk of rows. Attend uses the same
// kernels for the scores and the weighted sums of a batch of queries.
//
// Kernels come in tiers chosen at run time from the CPU (isa.go): pure Go,
// AVX2+FMA+F16C, and AVX-512 F/BW/VL/VNNI. Every assembly kernel has a
// pure-Go twin whose doc comment is the loop it computes (dot_generic.go,
// act.go, ops.go, gemm_ref.go, gemm_quant.go, gemm_decode.go); the `purego`
// build tag forces the twins. Tests run every tier this machine has
// against the same references, on aligned, unaligned, odd-length and
// guard-paged buffers.
//
// Typical use by a forward pass:
//
//	pool := tensor.NewPool(runtime.NumCPU()) // owner Closes it
//	w := tensor.Matrix{Type: tensor.Q8_0, Rows: 1536, Cols: 576, Data: gguf bytes}
//	if err := w.Check(); err != nil { ... } // once, at load time
//	pool.MatVec(out, w, x)                 // out[r] = row r · x
//	pool.MatMul(out, w, xs, n)             // n vectors: out[j*Rows+r]
//	pool.Attend(att, q, keys, vals, n, pos0, tensor.Attention{...})
//	embd.Row(token, x)                     // dequantize one row
package tensor
