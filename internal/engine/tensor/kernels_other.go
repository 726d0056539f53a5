//go:build purego || !amd64

package tensor

// Without assembly every kernel is the pure-Go reference.

func archKernel(Type) (floatDot, quantDot) { return nil, nil }

func archQuantizeAct(*q8Act, []float32) bool { return false }

func archDotF32(a, b []float32) (float32, bool) { return 0, false }

func archExpSubSum([]float32, float32) (int, float64) { return 0, 0 }

func archSwiGLU(dst, gate, up []float32) int { return 0 }

func attend3Fits(int) bool { return false }

func archAttend3(o, q, sc []float32, keys, vals KV, off, stride int, scale float32) bool {
	return false
}

func archMax(x []float32) (int, float32) { return 0, 0 }

func archScale(x []float32, s float32) int { return 0 }

func archAxpy([]float32, float32, []float32) bool { return false }

func archKernel4(Type) quad { return nil }

func archDotStrided(dst, q, m []float32, stride int, scale float32) bool { return false }

func archAxpyStrided(dst, p, m []float32, stride int) bool { return false }

// StridedF16: the strided fp16 loops are assembly only (kernels_amd64.go).
func StridedF16(int) bool { return false }

func archDotStridedF16(dst, q []float32, m []uint16, stride int, scale float32) bool { return false }

func archAxpyStridedF16(dst, p []float32, m []uint16, stride int) bool { return false }

func archRows(Type) rowsKernel { return nil }

func archRowsN(Type) rowsNKernel { return nil }

func archTransposeQ8([]byte, *q8Act) bool { return false }

func archFloatRows(Type) floatRows { return nil }

func cpuRelax() {}

func detectISA() isaLevel { return isaGeneric }

func archGemmF32(w []float32, rs, ks int, xp []float32, K, np, nv int, out []float32, ldc int) bool {
	return false
}

func archWiden(t Type, dst []float32, src []byte) int { return 0 }

func archNarrowF16(dst []byte, src []float32) int { return 0 }

func archGemmQ(kind qKind, wt, xq []byte, nb, np, nv int, out []float32, ldc int) bool { return false }

func archDecodeTile(t Type, dst, row []byte, r, nb int) bool { return false }

func archQuantPack(xq []byte, x []float32, nb, lane int) bool { return false }

func archPackF32(xp, x []float32, ldx, n, K int) bool { return false }
