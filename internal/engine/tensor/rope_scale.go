package tensor

import "math"

// Llama3RoPEFactors computes the per-pair frequency divisors of Llama 3.1's
// "llama3" rope scaling, as llama.cpp's converter stores them in
// rope_freqs.weight: long wavelengths are slowed by factor, short ones kept,
// and the band between interpolated.
func Llama3RoPEFactors(base float64, dim int, factor, lowFreqFactor, highFreqFactor float64, origContext int) []float32 {
	lowWavelen := float64(origContext) / lowFreqFactor
	highWavelen := float64(origContext) / highFreqFactor
	out := make([]float32, dim/2)
	for i := range out {
		freq := 1 / math.Pow(base, float64(2*i)/float64(dim))
		wavelen := 2 * math.Pi / freq
		switch {
		case wavelen < highWavelen:
			out[i] = 1
		case wavelen > lowWavelen:
			out[i] = float32(factor)
		default:
			smooth := (float64(origContext)/wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	return out
}
