package tensor_test

import (
	"fmt"

	"github.com/parley-chat/parley/internal/engine/tensor"
)

// A 2x32 Q8_0 matrix times a vector, on a two-way pool.
func ExamplePool_MatVec() {
	weights := make([]float32, 2*32)
	for i := range 32 {
		weights[i] = 1                 // row 0: all ones
		weights[32+i] = float32(i % 2) // row 1: odd positions
	}
	w := tensor.Matrix{Type: tensor.Q8_0, Rows: 2, Cols: 32, Data: make([]byte, tensor.Q8_0.RowSize(64))}
	if err := tensor.Quantize(tensor.Q8_0, weights, w.Data); err != nil {
		panic(err)
	}
	x := make([]float32, 32)
	for i := range x {
		x[i] = 0.5
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	out := make([]float32, 2)
	pool.MatVec(out, w, x)
	fmt.Printf("%.2f %.2f\n", out[0], out[1])
	// Output: 16.00 8.00
}
