package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Dequantize decodes len(dst) elements of type t from src, which must hold at
// least t.RowSize(len(dst)) bytes. Results equal ggml's dequantize_row_* bit
// for bit.
func Dequantize(t Type, src []byte, dst []float32) error {
	if err := checkSizes(t, len(dst), len(src)); err != nil {
		return err
	}
	if !t.Supported() {
		return fmt.Errorf("tensor: dequantize %v: unsupported type", t)
	}
	dequantize(t, src, dst)
	return nil
}

// Quantize encodes src into dst in type t's block format; dst must hold at
// least t.RowSize(len(src)) bytes. The block-quant encoders are ggml's
// reference quantizers (quantize_row_*_ref, what llama-quantize runs without
// an importance matrix): the bytes are identical (TestQuantizeMatchesGGML).
func Quantize(t Type, src []float32, dst []byte) error {
	if err := checkSizes(t, len(src), len(dst)); err != nil {
		return err
	}
	n := len(src)
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i := archNarrowF16(dst, src); i < n; i++ {
			binary.LittleEndian.PutUint16(dst[2*i:], FloatToHalf(src[i]))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], FloatToBF16(v))
		}
	case Q4_0:
		for b := 0; b < n/32; b++ {
			quantizeBlockQ4_0(dst[b*18:b*18+18], src[b*32:b*32+32])
		}
	case Q4_1:
		for b := 0; b < n/32; b++ {
			quantizeBlockQ4_1(dst[b*20:b*20+20], src[b*32:b*32+32])
		}
	case Q5_0:
		for b := 0; b < n/32; b++ {
			quantizeBlockQ5_0(dst[b*22:b*22+22], src[b*32:b*32+32])
		}
	case Q5_1:
		for b := 0; b < n/32; b++ {
			quantizeBlockQ5_1(dst[b*24:b*24+24], src[b*32:b*32+32])
		}
	case Q8_0:
		for b := 0; b < n/32; b++ {
			quantizeBlockQ8_0(dst[b*34:b*34+34], src[b*32:b*32+32])
		}
	case Q4_K:
		for b := 0; b < n/qk; b++ {
			quantizeBlockQ4_K(dst[b*144:b*144+144], src[b*qk:b*qk+qk])
		}
	case Q5_K:
		for b := 0; b < n/qk; b++ {
			quantizeBlockQ5_K(dst[b*176:b*176+176], src[b*qk:b*qk+qk])
		}
	case Q6_K:
		for b := 0; b < n/qk; b++ {
			quantizeBlockQ6_K(dst[b*210:b*210+210], src[b*qk:b*qk+qk])
		}
	default:
		return fmt.Errorf("tensor: quantize to %v: unsupported type", t)
	}
	return nil
}

func checkSizes(t Type, n, nbytes int) error {
	bs := t.BlockSize()
	if bs == 0 {
		return fmt.Errorf("tensor: unknown type %v", t)
	}
	if n%bs != 0 {
		return fmt.Errorf("tensor: %v: %d elements is not a multiple of the block size %d", t, n, bs)
	}
	if need := n / bs * t.TypeSize(); nbytes < need {
		return fmt.Errorf("tensor: %v: %d elements need %d bytes, have %d", t, n, need, nbytes)
	}
	return nil
}

// dequantize assumes sizes were checked and t is supported.
func dequantize(t Type, src []byte, dst []float32) {
	n := len(dst)
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := archWiden(F16, dst, src); i < n; i++ {
			dst[i] = HalfToFloat(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToFloat(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q4_0:
		for b := 0; b < n/32; b++ {
			dequantBlockQ4_0(dst[b*32:b*32+32], src[b*18:b*18+18])
		}
	case Q4_1:
		for b := 0; b < n/32; b++ {
			dequantBlockQ4_1(dst[b*32:b*32+32], src[b*20:b*20+20])
		}
	case Q5_0:
		for b := 0; b < n/32; b++ {
			dequantBlockQ5_0(dst[b*32:b*32+32], src[b*22:b*22+22])
		}
	case Q5_1:
		for b := 0; b < n/32; b++ {
			dequantBlockQ5_1(dst[b*32:b*32+32], src[b*24:b*24+24])
		}
	case Q8_0:
		for b := 0; b < n/32; b++ {
			dequantBlockQ8_0(dst[b*32:b*32+32], src[b*34:b*34+34])
		}
	case Q4_K:
		for b := 0; b < n/qk; b++ {
			dequantBlockQ4_K(dst[b*qk:b*qk+qk], src[b*144:b*144+144])
		}
	case Q5_K:
		for b := 0; b < n/qk; b++ {
			dequantBlockQ5_K(dst[b*qk:b*qk+qk], src[b*176:b*176+176])
		}
	case Q6_K:
		for b := 0; b < n/qk; b++ {
			dequantBlockQ6_K(dst[b*qk:b*qk+qk], src[b*210:b*210+210])
		}
	default:
		panic("tensor: dequantize of unsupported type " + t.String())
	}
}

func half(b []byte) float32 { return HalfToFloat(binary.LittleEndian.Uint16(b)) }

func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, FloatToHalf(f)) }

// nearestInt rounds half to even like ggml's nearest_int.
func nearestInt(f float32) int { return int(math.RoundToEven(float64(f))) }
