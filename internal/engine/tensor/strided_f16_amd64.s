//go:build !purego

#include "textflag.h"
#include "hsum_amd64.h"

// Attention's strided loops over fp16 keys and values (an F16 KV cache):
// the bodies of the float loops (strided_avx2.h, strided_avx512.h) with
// each cached row widened by VCVTPH2PS as it is read. The widening is
// exact, so each gives the bits its float twin gives for the widened rows.

#define ES 2
#define ROWFMA(addr, x, acc) VCVTPH2PS addr, Y9; VFMADD231PS Y9, x, acc
#define ROWFMAZ(addr, x, acc) VCVTPH2PS addr, Z12; VFMADD231PS Z12, x, acc

#define DOT ·dotStridedF16AVX2
#define AXPY ·axpyStridedF16AVX2
#include "strided_avx2.h"

#define DOT512 ·dotStridedF16AVX512
#define AXPY512 ·axpyStridedF16AVX512
#include "strided_avx512.h"

#define ROWLOADZ(addr, z) VCVTPH2PS addr, z
#define DOT512G3 ·dot3StridedF16AVX512
#define AXPY512G3 ·axpy3StridedF16AVX512
#include "strided_g3_avx512.h"
