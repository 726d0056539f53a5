//go:build !purego

#include "textflag.h"

// AVX-512 twins of attention's strided loops (strided_amd64.s):
// strided_avx512.h's bodies over float32 rows.

#define DOT512 ·dotStridedAVX512
#define AXPY512 ·axpyStridedAVX512
#define ES 4
#define ES4
#define ROWFMAZ(addr, x, acc) VFMADD231PS addr, x, acc

#include "strided_avx512.h"

#define ROWLOADZ(addr, z) VMOVUPS addr, z
#define DOT512G3 ·dot3StridedAVX512
#define AXPY512G3 ·axpy3StridedAVX512
#include "strided_g3_avx512.h"
