// Package tensor holds the numeric kernels of Parley's pure-Go inference
// engine: the GGML block formats (Dequantize, Quantize), quantized
// matrix-vector and matrix-matrix products spread over a fixed worker Pool,
// and the vector ops a transformer layer needs (RMSNorm, Softmax, RoPE,
// SwiGLU, Dot, Axpy, ...).
//
// Mat-vecs dominate generation, so they work like ggml's: the activation
// vector is quantized once per call to 8-bit blocks of 32 (float32 scale per
// block) and each weight row is dotted with it in integer arithmetic; F32,
// F16 and BF16 weights use float dots. Every kernel has a pure-Go reference
// (dot_generic.go, act.go, ops.go) whose doc comment is the loop it
// computes. On amd64 with AVX2+FMA+F16C, assembly versions (*_amd64.s) are
// selected at run time; the `purego` build tag forces the references. Tests
// compare the two on aligned, unaligned, odd-length and guard-paged buffers.
//
// Typical use by a forward pass:
//
//	pool := tensor.NewPool(runtime.NumCPU()) // owner Closes it
//	w := tensor.Matrix{Type: tensor.Q8_0, Rows: 1536, Cols: 576, Data: gguf bytes}
//	if err := w.Check(); err != nil { ... } // once, at load time
//	pool.MatVec(out, w, x)                 // out[r] = row r · x
//	pool.MatMul(out, w, xs, n)             // n vectors: out[j*Rows+r]
//	embd.Row(token, x)                     // dequantize one row
package tensor
