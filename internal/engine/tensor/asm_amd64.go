//go:build !purego

package tensor

import "unsafe"

// AVX2 assembly kernels: float_amd64.s (float dots, activation
// quantizer), quant_amd64.s (32-element block formats), kquant_amd64.s
// (K-quants), multi_amd64.s (four-vector MatMul kernels), ops_amd64.s
// (exp, SwiGLU, axpy); the GEMM kernels are declared in gemm_amd64.go.
// Each mirrors a pure-Go reference; pointers address the first element, n
// counts elements, nb 32-element blocks, nsb 256-element super-blocks,
// and the Go wrappers bounds-check the buffers before calling.

//go:noescape
func dotRowsF32AVX2(dst *float32, w *byte, rs, rows int, x *float32, n int)

//go:noescape
func dotRowsF16AVX2(dst *float32, w *byte, rs, rows int, x *float32, n int)

//go:noescape
func dotRowsBF16AVX2(dst *float32, w *byte, rs, rows int, x *float32, n int)

// The single float dots are the row kernels over one row.

func dotF32AVX2(a, b *float32, n int) float32 {
	var out float32
	dotRowsF32AVX2(&out, (*byte)(unsafe.Pointer(a)), 0, 1, b, n)
	return out
}

func dotF16AVX2(w *byte, x *float32, n int) float32 {
	var out float32
	dotRowsF16AVX2(&out, w, 0, 1, x, n)
	return out
}

func dotBF16AVX2(w *byte, x *float32, n int) float32 {
	var out float32
	dotRowsBF16AVX2(&out, w, 0, 1, x, n)
	return out
}

//go:noescape
func quantizeActAVX2(x *float32, qs *int8, d *float32, sum16 *int32, nb int)

//go:noescape
func dotQ8_0AVX2(w *byte, x *int8, d *float32, nb int) float32

//go:noescape
func dotQ4_0AVX2(w *byte, x *int8, d, s *float32, nb int) float32

//go:noescape
func dotQ4_1AVX2(w *byte, x *int8, d, s *float32, nb int) float32

//go:noescape
func dotQ5_0AVX2(w *byte, x *int8, d, s *float32, nb int) float32

//go:noescape
func dotQ5_1AVX2(w *byte, x *int8, d, s *float32, nb int) float32

//go:noescape
func dotQ4_KAVX2(w *byte, x *int8, d, s *float32, nsb int) float32

//go:noescape
func dotQ5_KAVX2(w *byte, x *int8, d, s *float32, nsb int) float32

//go:noescape
func dotQ6_KAVX2(w *byte, x *int8, d *float32, nsb int) float32

//go:noescape
func expSubSumAVX2(x *float32, n int, m float32) float64

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

//go:noescape
func swigluAVX2(dst, gate, up *float32, n int)

//go:noescape
func axpyAVX2(dst, x *float32, alpha float32, n int)

//go:noescape
func dotStridedAVX2(dst, q, m *float32, stride, keys, n int, scale float32)

//go:noescape
func axpyStridedAVX2(dst, p, m *float32, stride, keys, n int)

//go:noescape
func dotStridedAVX512(dst, q, m *float32, stride, keys, n int, scale float32)

//go:noescape
func axpyStridedAVX512(dst, p, m *float32, stride, keys, n int)

//go:noescape
func dotStridedF16AVX2(dst, q *float32, m *uint16, stride, keys, n int, scale float32)

//go:noescape
func axpyStridedF16AVX2(dst, p *float32, m *uint16, stride, keys, n int)

//go:noescape
func dotStridedF16AVX512(dst, q *float32, m *uint16, stride, keys, n int, scale float32)

//go:noescape
func axpyStridedF16AVX512(dst, p *float32, m *uint16, stride, keys, n int)

//go:noescape
func dotQ8_0x4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)

//go:noescape
func dotQ4_0x4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)

//go:noescape
func dotQ5_0x4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)

//go:noescape
func dotQ4_Kx4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)

//go:noescape
func dotQ6_Kx4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)

// cpuRelax is one PAUSE: it tells the core a spin-wait is in progress, so
// a sibling hardware thread gets the execution units and leaving the loop
// does not flush the pipeline.
func cpuRelax()

//go:noescape
func dot3StridedAVX512(dst *float32, ldd int, q *float32, ldq int, m *float32, stride, keys, n int, scale float32)

//go:noescape
func axpy3StridedAVX512(dst *float32, ldd int, p *float32, ldp int, m *float32, stride, keys, n int)

//go:noescape
func dot3StridedF16AVX512(dst *float32, ldd int, q *float32, ldq int, m *uint16, stride, keys, n int, scale float32)

//go:noescape
func axpy3StridedF16AVX512(dst *float32, ldd int, p *float32, ldp int, m *uint16, stride, keys, n int)
