package tensor

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"
)

// ggmlQuantInput is the input of TestQuantizeMatchesGGML: 512 super-blocks
// of varied content, so the quantizers' branches all run: gaussian blocks
// over six orders of magnitude, outliers, all-positive and all-negative
// blocks (the min clamps to 0), zero, constant and sub-epsilon blocks, and
// sub-blocks of zeros inside otherwise normal blocks.
func ggmlQuantInput() []float32 {
	r := rand.New(rand.NewPCG(12, 34))
	x := make([]float32, 256*512)
	for b := range 512 {
		blk := x[256*b : 256*b+256]
		scale := math.Pow(10, -4+6*r.Float64())
		for i := range blk {
			blk[i] = float32(r.NormFloat64() * scale)
		}
		switch b % 16 {
		case 1:
			blk[r.IntN(256)] *= 40
		case 2:
			for i := range blk {
				blk[i] = abs32(blk[i])
			}
		case 3:
			for i := range blk {
				blk[i] = -abs32(blk[i])
			}
		case 4:
			clear(blk)
		case 5:
			for i := range blk {
				blk[i] = float32(scale)
			}
		case 6:
			for i := range blk {
				blk[i] *= 1e-17
			}
		case 7:
			clear(blk[32*r.IntN(8):][:32])
			clear(blk[16*r.IntN(16):][:16])
		case 8:
			for i := range blk {
				blk[i] = float32(math.Round(float64(blk[i]/float32(scale)))) * float32(scale)
			}
		}
	}
	return x
}

// TestQuantizeMatchesGGML checks that Quantize produces, byte for byte, what
// ggml's reference quantizers (ggml_quantize_chunk without an importance
// matrix, the path llama-quantize takes) produce for the same input. The
// hashes are of ggml_quantize_chunk's output on this input with llama.cpp
// at commits c392e5094 and e98b3692b (both agree; see testdata/README.md at
// the repository root).
func TestQuantizeMatchesGGML(t *testing.T) {
	want := map[Type]string{
		Q4_0: "96269c883447c686eb6ae3d03100b4448805c18e3a2b00cc06ff342399193edf",
		Q4_1: "2acb2ae784a5ec361c07ce77918bd189c3e7c7736b47c03922c7749676651561",
		Q5_0: "45c58d26d9e8fc37c8ad8f0a3f6d4faedc56cc2dc57a31c07a794cf8cb2f8252",
		Q5_1: "fc65d87c9c7191d4e8ca492623b489dc55dff1865984cb177c0428747c08615c",
		Q8_0: "a1d8adde6b333755def0fff73b9a03459411d45169d76b346557d78fd9b91cc6",
		Q4_K: "8a93906679c2982f6f4602ec11f454dc23b0cfe779357a9b4392805dd04d89a9",
		Q5_K: "8f6434a6c4afd5a5080fef312ebfebbc5d82f8ddeb18b39a202e38c5c205517a",
		Q6_K: "a4fbdd6b381dd889bbfe1b93f75cc429461f5e6cab1c289e0573a72472c71cba",
	}
	x := ggmlQuantInput()
	for typ, h := range want {
		buf := make([]byte, typ.RowSize(len(x)))
		if err := Quantize(typ, x, buf); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(buf)
		if got := hex.EncodeToString(sum[:]); got != h {
			t.Errorf("%v: sha256 %s, ggml's is %s", typ, got, h)
		}
	}
}
