package tensor

import "fmt"

// Matrix is a row-major weight matrix: Rows rows of Cols elements, each row
// Type.RowSize(Cols) bytes of Data (usually a slice of a mapped GGUF file).
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
}

// Check reports whether m is usable by the kernels: a supported type, Cols a
// multiple of the block size and Data large enough.
func (m Matrix) Check() error {
	if !m.Type.Supported() {
		return fmt.Errorf("tensor: matrix of unsupported type %v", m.Type)
	}
	if m.Rows < 0 || m.Cols <= 0 || m.Cols%m.Type.BlockSize() != 0 {
		return fmt.Errorf("tensor: %v matrix %dx%d: columns must be a positive multiple of %d", m.Type, m.Rows, m.Cols, m.Type.BlockSize())
	}
	if need := m.Rows * m.Type.RowSize(m.Cols); len(m.Data) < need {
		return fmt.Errorf("tensor: %v matrix %dx%d needs %d bytes, has %d", m.Type, m.Rows, m.Cols, need, len(m.Data))
	}
	return nil
}

// RowBytes is the encoded row i.
func (m Matrix) RowBytes(i int) []byte {
	rs := m.Type.RowSize(m.Cols)
	return m.Data[i*rs : (i+1)*rs]
}

// Row dequantizes row i into dst[:Cols] (an embedding lookup). It panics if
// the type is unsupported or dst is short, as those are caller bugs that
// Check catches up front.
func (m Matrix) Row(i int, dst []float32) {
	if err := Dequantize(m.Type, m.RowBytes(i), dst[:m.Cols]); err != nil {
		panic(err)
	}
}
