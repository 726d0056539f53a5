//go:build !purego

#include "textflag.h"
#include "hsum_amd64.h"

// Attention's strided loops over the cached keys and values of one head,
// fused so that a decode step makes one call per head instead of one per
// cached token (twins: DotStrided's and AxpyStrided's per-token loops over
// dotF32AVX2 and axpyAVX2, whose arithmetic these repeat operation for
// operation, so the results are the same bit for bit): strided_avx2.h's
// bodies over float32 rows.

#define DOT ·dotStridedAVX2
#define AXPY ·axpyStridedAVX2
#define ES 4
#define ROWFMA(addr, x, acc) VFMADD231PS addr, x, acc

#include "strided_avx2.h"
