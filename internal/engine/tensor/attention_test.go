package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refAttend is Attend in float64 with the textbook formula.
func refAttend(q, keys, vals []float32, n, pos0 int, a Attention) []float64 {
	hd, group := a.HeadDim, a.Heads/a.HeadsKV
	qDim, kvDim := a.Heads*hd, a.HeadsKV*hd
	out := make([]float64, n*qDim)
	for i := range n {
		for h := range a.Heads {
			kv := (h / group) * hd
			ctx := pos0 + i + 1
			s := make([]float64, ctx)
			m := math.Inf(-1)
			for t := range ctx {
				var d float64
				for k := range hd {
					d += float64(q[i*qDim+h*hd+k]) * float64(keys[t*kvDim+kv+k])
				}
				s[t] = float64(a.Scale) * d
				m = math.Max(m, s[t])
			}
			var sum float64
			for t := range s {
				s[t] = math.Exp(s[t] - m)
				sum += s[t]
			}
			for t := range s {
				for k := range hd {
					out[i*qDim+h*hd+k] += s[t] / sum * float64(vals[t*kvDim+kv+k])
				}
			}
		}
	}
	return out
}

func TestAttend(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	pool := NewPool(2)
	defer pool.Close()
	forEachISA(t, func(t *testing.T) {
		for _, shape := range [][3]int{{4, 2, 8}, {3, 1, 12}, {2, 2, 64}, {6, 3, 6}} {
			a := Attention{Heads: shape[0], HeadsKV: shape[1], HeadDim: shape[2]}
			a.Scale = float32(1 / math.Sqrt(float64(a.HeadDim)))
			qDim, kvDim := a.Heads*a.HeadDim, a.HeadsKV*a.HeadDim
			for _, n := range []int{1, 2, 3, 4, 5, 17, 33} {
				for _, pos0 := range []int{0, 1, 7, 30} {
					q := randomVec(r, n*qDim)
					keys := randomVec(r, (pos0+n)*kvDim)
					vals := randomVec(r, (pos0+n)*kvDim)
					want := refAttend(q, keys, vals, n, pos0, a)
					for _, p := range []*Pool{nil, pool} {
						for _, minPar := range []int{0, 1 << 30} {
							a.MinParallel = minPar
							got := make([]float32, n*qDim+1)
							got[n*qDim] = sentinel
							p.Attend(got[:n*qDim], q, keys, vals, n, pos0, a)
							if got[n*qDim] != sentinel {
								t.Fatal("wrote past out")
							}
							for i := range want {
								if d := math.Abs(float64(got[i]) - want[i]); d > 1e-5 {
									t.Fatalf("%v n=%d pos0=%d threads=%d minParallel=%d: out[%d] = %v, want %v",
										shape, n, pos0, p.Threads(), minPar, i, got[i], want[i])
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestAttendDoesNotAllocate: once its scratch has grown, Attend on a
// pool allocates nothing, on either path.
func TestAttendDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	pool := NewPool(2)
	defer pool.Close()
	a := Attention{Heads: 4, HeadsKV: 2, HeadDim: 16, Scale: 0.25}
	for _, n := range []int{1, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			const pos0 = 20
			q := randomVec(r, n*64)
			kv := randomVec(r, (pos0+n)*32)
			out := make([]float32, n*64)
			pool.Attend(out, q, kv, kv, n, pos0, a)
			if allocs := testing.AllocsPerRun(20, func() { pool.Attend(out, q, kv, kv, n, pos0, a) }); allocs != 0 {
				t.Errorf("%v allocations per call", allocs)
			}
		})
	}
}

// TestAttend3MatchesHeads: three query heads sharing a KV head attended in
// one pass give each head, bit for bit, what AttendHead gives it alone —
// over float and fp16 caches, at every count of keys around the kernel's
// four at a time, for a KV head that is not the first of its rows.
func TestAttend3MatchesHeads(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for _, hd := range []int{64, 128} {
		const kvHeads = 2
		stride, off := kvHeads*hd, hd // the second KV head
		for _, ctx := range []int{1, 2, 3, 4, 5, 7, 8, 9, 33, 100, 257} {
			q := randomVec(r, 3*hd)
			kf, vf := randomVec(r, ctx*stride), randomVec(r, ctx*stride)
			kh, vh := make([]uint16, len(kf)), make([]uint16, len(vf))
			for i := range kf {
				kh[i], vh[i] = FloatToHalf(kf[i]), FloatToHalf(vf[i])
			}
			for _, c := range []struct {
				name       string
				keys, vals KV
			}{{"f32", KV{F: kf}, KV{F: vf}}, {"f16", KV{H: kh}, KV{H: vh}}} {
				want := make([]float32, 3*hd)
				for g := range 3 {
					AttendHead(want[g*hd:(g+1)*hd], q[g*hd:(g+1)*hd], make([]float32, ctx), c.keys, c.vals, off, stride, 0.125)
				}
				got := make([]float32, 3*hd)
				for i := range got {
					got[i] = float32(i) // attend3 overwrites, as AttendHead does
				}
				attend3(got, q, make([]float32, 3*ctx), c.keys, c.vals, off, stride, 0.125)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s hd=%d ctx=%d: o[%d] %v, one head at a time %v", c.name, hd, ctx, i, got[i], want[i])
					}
				}
			}
		}
	}
}
