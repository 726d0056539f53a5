// Shared by the AVX-512 GEMM kernels: storing a tile of four rows whose
// lanes are vectors. Z0-Z3 are scratch; BX points at the first vector's
// four floats, DX is the distance between vectors (bytes), AX counts the
// vectors to store.

#include "gemm_amd64.h"

// ST stores the four rows of one vector at (BX), steps to the next
// vector and leaves when AX vectors have been stored.
#define ST(reg, chunk, done) \
	VEXTRACTF32X4 $chunk, reg, (BX) \
	ADDQ          DX, BX \
	DECQ          AX \
	JZ            done

// STORE16 transposes and stores one panel's tile.
#define STORE16(a, b, c, d, done) \
	TRANS4(a, b, c, d, Z0, Z1, Z2, Z3) \
	ST(a, 0, done) \
	ST(b, 0, done) \
	ST(c, 0, done) \
	ST(d, 0, done) \
	ST(a, 1, done) \
	ST(b, 1, done) \
	ST(c, 1, done) \
	ST(d, 1, done) \
	ST(a, 2, done) \
	ST(b, 2, done) \
	ST(c, 2, done) \
	ST(d, 2, done) \
	ST(a, 3, done) \
	ST(b, 3, done) \
	ST(c, 3, done) \
	ST(d, 3, done)
