package tensor

// gemmQuantTile returns the tile decoder of the quantized GEMM for t, or
// nil when t uses the row kernels.
func gemmQuantTile(t Type) func() { return nil }

func gemmQPanelBytes(cols, pw int) int { return 0 }

func gemmQTileBytes(t Type, cols int) int { return 0 }

func (j *matMulJob) packQ(lo, hi int) {}

func (j *matMulJob) gemmQ(it mulItem, s *gemmScratch) {}
