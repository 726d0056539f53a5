package tensor

// isaLevel is the instruction-set tier the kernels run at. Each tier's
// kernels compute the same functions as the pure-Go references; a tier
// only changes the speed (and the float summation order).
type isaLevel uint8

const (
	isaGeneric isaLevel = iota // the pure-Go references
	isaAVX2                    // AVX2, FMA, F16C: the *_amd64.s kernels
	isaAVX512                  // plus AVX-512 F/BW/VL/VNNI: the GEMM micro-kernels in *avx512_amd64.s
)

func (l isaLevel) String() string {
	switch l {
	case isaAVX2:
		return "avx2"
	case isaAVX512:
		return "avx512"
	}
	return "generic"
}

// isa is the tier in use, the best this CPU runs (see detectISA). Tests
// lower it to run every tier's kernels on one machine (setISA); nothing
// else writes it.
var isa = detectISA()
