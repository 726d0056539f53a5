// Shared by the AVX-512 GEMM kernels: storing a tile of four rows whose
// lanes are vectors. Z0-Z3 are scratch; BX points at the first vector's
// four floats, DX is the distance between vectors (bytes), AX counts the
// vectors to store.

// TRANS4 turns rows a..d (lanes = vectors) into, per 128-bit chunk c,
// the four rows of vector 4c (a), 4c+1 (b), 4c+2 (c), 4c+3 (d).
#define TRANS4(a, b, c, d) \
	VUNPCKLPS b, a, Z0 \
	VUNPCKHPS b, a, Z1 \
	VUNPCKLPS d, c, Z2 \
	VUNPCKHPS d, c, Z3 \
	VUNPCKLPD Z2, Z0, a \
	VUNPCKHPD Z2, Z0, b \
	VUNPCKLPD Z3, Z1, c \
	VUNPCKHPD Z3, Z1, d

// ST stores the four rows of one vector at (BX), steps to the next
// vector and leaves when AX vectors have been stored.
#define ST(reg, chunk, done) \
	VEXTRACTF32X4 $chunk, reg, (BX) \
	ADDQ          DX, BX \
	DECQ          AX \
	JZ            done

// STORE16 transposes and stores one panel's tile.
#define STORE16(a, b, c, d, done) \
	TRANS4(a, b, c, d) \
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
