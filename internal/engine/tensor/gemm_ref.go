package tensor

// Pure-Go twins of the GEMM micro-kernels and packers (gemm_*_amd64.s).
// The assembly computes the same values to float rounding (FMAs round
// once, and some kernels split the k sum in two).
//
// Layouts. Activations are packed into panels of pw vectors (pw is the
// register width in floats: 16 for AVX-512, 8 otherwise), so one vector
// load holds element k of pw different vectors and a tile's results come
// out with the vectors in the lanes:
//
//	float panel p:  xp[p*K*pw + k*pw + lane] = x[(p*pw+lane)*ldx + k]
//
// (0 for lanes past the last vector). A micro-kernel computes a tile of
// four weight rows against np consecutive panels and stores it transposed,
// out[v*ldc + r] for the v < nv valid vectors, so four rows of one vector
// are four adjacent floats.

// gemmRows is the number of weight rows of a micro-kernel tile.
const gemmRows = 4

// gemmF32Ref is the float micro-kernel: weight element (r, k) is
// w[r*rs + k*ks] (a row-major matrix has ks 1; a transposed one rs 1):
//
//	for p < np, lane < pw, r < 4, with v = p*pw + lane < nv:
//		out[v*ldc + r] = Σ_{k<K} w[r*rs + k*ks] * xp[p*K*pw + k*pw + lane]
func gemmF32Ref(w []float32, rs, ks int, xp []float32, K, np, pw, nv int, out []float32, ldc int) {
	for p := range np {
		panel := xp[p*K*pw : (p+1)*K*pw]
		for lane := range pw {
			v := p*pw + lane
			if v >= nv {
				return
			}
			for r := range gemmRows {
				var acc float32
				for k := range K {
					acc += w[r*rs+k*ks] * panel[k*pw+lane]
				}
				out[v*ldc+r] = acc
			}
		}
	}
}

// packF32Ref packs n vectors of K floats (vector v at x[v*ldx:]) into
// ceil(n/pw) panels:
//
//	xp[p*K*pw + k*pw + lane] = x[(p*pw+lane)*ldx + k], or 0 past vector n-1
func packF32Ref(xp, x []float32, ldx, n, K, pw int) {
	for p := range (n + pw - 1) / pw {
		panel := xp[p*K*pw : (p+1)*K*pw]
		for lane := range pw {
			v := p*pw + lane
			if v >= n {
				for k := range K {
					panel[k*pw+lane] = 0
				}
				continue
			}
			row := x[v*ldx : v*ldx+K]
			for k, f := range row {
				panel[k*pw+lane] = f
			}
		}
	}
}
