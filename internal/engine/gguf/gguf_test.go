package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/parley-chat/parley/internal/sharedtest"
)

func storiesPath(t testing.TB) string {
	return filepath.Join(sharedtest.Dir(t), "models", "stories260K.gguf")
}

func encode(t testing.TB, meta []KV, tensors []TensorData) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, meta, tensors); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func f32bytes(xs ...float32) []byte {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func TestRoundTripValues(t *testing.T) {
	tests := []struct {
		name  string
		value any
		typ   ValueType
	}{
		{"uint8", uint8(200), TypeUint8},
		{"int8", int8(-100), TypeInt8},
		{"uint16", uint16(60000), TypeUint16},
		{"int16", int16(-30000), TypeInt16},
		{"uint32", uint32(4000000000), TypeUint32},
		{"int32", int32(-2000000000), TypeInt32},
		{"float32", float32(1e-5), TypeFloat32},
		{"bool true", true, TypeBool},
		{"bool false", false, TypeBool},
		{"string", "héllo ▁wörld", TypeString},
		{"empty string", "", TypeString},
		{"uint64", uint64(math.MaxUint64), TypeUint64},
		{"int64", int64(math.MinInt64), TypeInt64},
		{"float64", math.Pi, TypeFloat64},
		{"[]uint8", []uint8{0, 1, 255}, TypeArray},
		{"[]int8", []int8{-128, 0, 127}, TypeArray},
		{"[]uint16", []uint16{1, 65535}, TypeArray},
		{"[]int16", []int16{-1, 32767}, TypeArray},
		{"[]uint32", []uint32{7, 1 << 31}, TypeArray},
		{"[]int32", []int32{-5, 0, 5}, TypeArray},
		{"[]float32", []float32{0.5, -1.25, float32(math.Inf(1))}, TypeArray},
		{"[]bool", []bool{true, false, true}, TypeArray},
		{"[]string", []string{"<s>", "", "▁the"}, TypeArray},
		{"[]uint64", []uint64{0, math.MaxUint64}, TypeArray},
		{"[]int64", []int64{math.MinInt64, 3}, TypeArray},
		{"[]float64", []float64{1.5, -2}, TypeArray},
		{"empty []int32", []int32{}, TypeArray},
		{"nested", []any{[]int32{1, 2}, []string{"a"}, []any{[]uint8{9}}}, TypeArray},
		{"empty nested", []any{}, TypeArray},
	}
	meta := []KV{{"general.architecture", "test"}}
	for _, tc := range tests {
		meta = append(meta, KV{"k." + tc.name, tc.value})
	}
	f, err := Parse(encode(t, meta, nil))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 {
		t.Errorf("version %d, want 3", f.Version)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := f.Value("k." + tc.name)
			if !ok {
				t.Fatal("key missing")
			}
			if !reflect.DeepEqual(got, tc.value) {
				t.Errorf("got %#v, want %#v", got, tc.value)
			}
			if typ, _ := f.Type("k." + tc.name); typ != tc.typ {
				t.Errorf("type %v, want %v", typ, tc.typ)
			}
		})
	}
	wantKeys := make([]string, len(meta))
	for i, kv := range meta {
		wantKeys[i] = kv.Key
	}
	if got := f.Keys(); !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("Keys() = %v, want file order %v", got, wantKeys)
	}
}

func TestAccessors(t *testing.T) {
	f, err := Parse(encode(t, []KV{
		{"general.architecture", "llama"},
		{"u32", uint32(7)},
		{"i32neg", int32(-3)},
		{"i64", int64(1 << 40)},
		{"u64big", uint64(math.MaxUint64)},
		{"f32", float32(0.25)},
		{"b", true},
		{"strs", []string{"a", "b"}},
		{"f64s", []float64{1, 2}},
		{"u8s", []uint8{1, 2}},
		{"u32big", []uint32{1 << 31}},
	}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if a := f.Architecture(); a != "llama" {
		t.Errorf("Architecture() = %q", a)
	}
	if v, ok := f.Uint("u32"); !ok || v != 7 {
		t.Errorf("Uint(u32) = %d, %v", v, ok)
	}
	if _, ok := f.Uint("i32neg"); ok {
		t.Error("Uint accepted a negative value")
	}
	if v, ok := f.Int("i32neg"); !ok || v != -3 {
		t.Errorf("Int(i32neg) = %d, %v", v, ok)
	}
	if v, ok := f.Uint("i64"); !ok || v != 1<<40 {
		t.Errorf("Uint(i64) = %d, %v", v, ok)
	}
	if _, ok := f.Int("u64big"); ok {
		t.Error("Int accepted a uint64 beyond int64")
	}
	if v, ok := f.Uint("u64big"); !ok || v != math.MaxUint64 {
		t.Errorf("Uint(u64big) = %d, %v", v, ok)
	}
	if v, ok := f.Float("f32"); !ok || v != 0.25 {
		t.Errorf("Float(f32) = %v, %v", v, ok)
	}
	if v, ok := f.Float("u32"); !ok || v != 7 {
		t.Errorf("Float(u32) = %v, %v", v, ok)
	}
	if v, ok := f.Bool("b"); !ok || !v {
		t.Errorf("Bool(b) = %v, %v", v, ok)
	}
	if _, ok := f.Bool("u32"); ok {
		t.Error("Bool accepted an integer")
	}
	if v, ok := f.Strings("strs"); !ok || !reflect.DeepEqual(v, []string{"a", "b"}) {
		t.Errorf("Strings = %v, %v", v, ok)
	}
	if v, ok := f.Float32s("f64s"); !ok || !reflect.DeepEqual(v, []float32{1, 2}) {
		t.Errorf("Float32s(f64s) = %v, %v", v, ok)
	}
	if v, ok := f.Int32s("u8s"); !ok || !reflect.DeepEqual(v, []int32{1, 2}) {
		t.Errorf("Int32s(u8s) = %v, %v", v, ok)
	}
	if _, ok := f.Int32s("u32big"); ok {
		t.Error("Int32s accepted a value beyond int32")
	}
	if _, ok := f.String("missing"); ok {
		t.Error("String(missing) ok")
	}
}

func TestTensorsAndAlignment(t *testing.T) {
	q8 := make([]byte, 2*34) // 2 rows of 32 Q8_0 elements
	for i := range q8 {
		q8[i] = byte(i)
	}
	tensors := []TensorData{
		{Name: "a", Dims: []uint64{3}, Type: 0, Data: f32bytes(1, 2, 3)},
		{Name: "b", Dims: []uint64{32, 2}, Type: 8, Data: q8},
		{Name: "c", Dims: []uint64{2, 1, 1, 1}, Type: 1, Data: []byte{1, 2, 3, 4}},
	}
	for _, align := range []uint32{0, 1, 8, 64, 4096} {
		meta := []KV{{"general.architecture", "x"}}
		want := uint64(32)
		if align != 0 {
			meta = append(meta, KV{"general.alignment", align})
			want = uint64(align)
		}
		f, err := Parse(encode(t, meta, tensors))
		if err != nil {
			t.Fatalf("align %d: %v", align, err)
		}
		if f.Alignment != want || f.DataOffset%want != 0 {
			t.Errorf("align %d: Alignment %d DataOffset %d", align, f.Alignment, f.DataOffset)
		}
		if len(f.Tensors) != len(tensors) {
			t.Fatalf("got %d tensors", len(f.Tensors))
		}
		for i, td := range tensors {
			ti, ok := f.Tensor(td.Name)
			if !ok {
				t.Fatalf("tensor %q missing", td.Name)
			}
			if !reflect.DeepEqual(ti, f.Tensors[i]) {
				t.Errorf("Tensor(%q) differs from Tensors[%d]", td.Name, i)
			}
			if ti.Offset%want != 0 {
				t.Errorf("align %d: tensor %q offset %d misaligned", align, td.Name, ti.Offset)
			}
			if !reflect.DeepEqual(ti.Dims, td.Dims) || ti.Type != td.Type {
				t.Errorf("tensor %q: dims %v type %d", td.Name, ti.Dims, ti.Type)
			}
			if got := f.TensorData(ti); !bytes.Equal(got, td.Data) {
				t.Errorf("align %d: tensor %q data %v, want %v", align, td.Name, got, td.Data)
			}
		}
	}
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name    string
		meta    []KV
		tensors []TensorData
		want    string
	}{
		{"plain int", []KV{{"k", 3}}, nil, "unsupported value type int"},
		{"duplicate key", []KV{{"k", true}, {"k", false}}, nil, "duplicate key"},
		{"bad alignment", []KV{{"general.alignment", uint32(3)}}, nil, "power of two"},
		{"alignment type", []KV{{"general.alignment", uint64(32)}}, nil, "power of two"},
		{"short data", nil, []TensorData{{Name: "t", Dims: []uint64{4}, Type: 0, Data: make([]byte, 12)}}, "needs 16"},
		{"unknown type", nil, []TensorData{{Name: "t", Dims: []uint64{4}, Type: 4, Data: make([]byte, 16)}}, "unknown tensor type"},
		{"partial block", nil, []TensorData{{Name: "t", Dims: []uint64{16}, Type: 8, Data: make([]byte, 17)}}, "block size"},
		{"duplicate tensor", nil, []TensorData{{Name: "t", Dims: []uint64{1}, Data: make([]byte, 4)}, {Name: "t", Dims: []uint64{1}, Data: make([]byte, 4)}}, "duplicate tensor"},
		{"mixed nested", []KV{{"k", []any{[]int32{1}, "x"}}}, nil, "array of arrays"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tc.meta, tc.tensors)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// header builds a raw file prefix: magic, version, tensor and kv counts.
func header(version uint32, nTensors, nKV uint64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, magic)
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint64(b, nTensors)
	return binary.LittleEndian.AppendUint64(b, nKV)
}

func appendStr(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

func TestParseRejectsCorruptFiles(t *testing.T) {
	valid := encode(t, []KV{{"general.architecture", "llama"}, {"arr", []string{"a", "b"}}},
		[]TensorData{{Name: "w", Dims: []uint64{2, 2}, Type: 0, Data: f32bytes(1, 2, 3, 4)}})
	kv := func(key string, typ ValueType, payload ...byte) []byte {
		b := appendStr(header(3, 0, 1), key)
		b = binary.LittleEndian.AppendUint32(b, uint32(typ))
		return append(b, payload...)
	}
	tensor := func(name string, nd uint32, dims []uint64, typ uint32, off uint64) []byte {
		b := appendStr(header(3, 1, 0), name)
		b = binary.LittleEndian.AppendUint32(b, nd)
		for _, d := range dims {
			b = binary.LittleEndian.AppendUint64(b, d)
		}
		b = binary.LittleEndian.AppendUint32(b, typ)
		b = binary.LittleEndian.AppendUint64(b, off)
		return append(b, make([]byte, 64)...)
	}
	swapped := header(3, 0, 0)
	binary.BigEndian.PutUint32(swapped[4:], 3)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), "bad magic"},
		{"version 1", header(1, 0, 0), "unsupported version 1"},
		{"version 4", header(4, 0, 0), "unsupported version 4"},
		{"big endian", swapped, "big-endian"},
		{"huge tensor count", header(3, 1<<62, 0), "tensor count"},
		{"huge kv count", header(3, 0, 1<<40), "metadata count"},
		{"huge key length", append(binary.LittleEndian.AppendUint64(header(3, 0, 1), 1<<60), make([]byte, 16)...), "string length"},
		{"unknown value type", kv("k", 13, 0, 0, 0, 0), "unknown value type 13"},
		{"bad bool", kv("k", TypeBool, 2), "bool value 2"},
		{"huge array", kv("k", TypeArray, binary.LittleEndian.AppendUint64([]byte{4, 0, 0, 0}, 1<<50)...), "count"},
		{"array of unknown", kv("k", TypeArray, binary.LittleEndian.AppendUint64([]byte{99, 0, 0, 0}, 1)...), "unknown array element type"},
		{"duplicate key", append(append(header(3, 0, 2), kv("k", TypeUint8, 1)[24:]...), kv("k", TypeUint8, 1)[24:]...), "duplicate key"},
		{"alignment not power of two", kv("general.alignment", TypeUint32, 3, 0, 0, 0), "power of two"},
		{"alignment string", append(kv("general.alignment", TypeString), appendStr(nil, "32")...), "power of two"},
		{"zero dims", tensor("t", 0, nil, 0, 0), "0 dimensions"},
		{"five dims", tensor("t", 5, []uint64{1, 1, 1, 1, 1}, 0, 0), "5 dimensions"},
		{"dims overflow", tensor("t", 2, []uint64{1 << 40, 1 << 40}, 0, 0), "overflow"},
		{"unknown tensor type", tensor("t", 1, []uint64{1}, 5, 0), "unknown tensor type id 5"},
		{"huge tensor type", tensor("t", 1, []uint64{1}, 1000, 0), "unknown tensor type id 1000"},
		{"partial block", tensor("t", 1, []uint64{31}, 8, 0), "block size"},
		{"misaligned offset", tensor("t", 1, []uint64{1}, 0, 4), "not a multiple"},
		{"data beyond end", tensor("t", 1, []uint64{1000}, 0, 0), "beyond the end"},
		{"offset beyond end", tensor("t", 1, []uint64{1}, 0, 1<<62), "beyond the end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.data)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", f)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		// Up to the end of the last tensor's data: the padding after it
		// may be missing (older writers left it out).
		f, err := Parse(valid)
		if err != nil {
			t.Fatal(err)
		}
		end := int(f.DataOffset + f.Tensors[0].Offset + f.Tensors[0].Size)
		if end == len(valid) {
			t.Fatal("the test file has no padding after its tensor")
		}
		for n := 0; n < end; n++ {
			if _, err := Parse(valid[:n]); err == nil {
				t.Fatalf("Parse of the first %d of %d bytes succeeded", n, len(valid))
			}
		}
		for _, n := range []int{end, len(valid)} {
			if _, err := Parse(valid[:n]); err != nil {
				t.Fatalf("file of %d bytes (of %d): %v", n, len(valid), err)
			}
		}
	})
	if _, err := Parse(valid[:10]); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated header error %v does not match ErrTruncated", err)
	}
}

func TestParseVersion2(t *testing.T) {
	data := encode(t, []KV{{"general.architecture", "llama"}}, nil)
	binary.LittleEndian.PutUint32(data[4:], 2)
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 || f.Architecture() != "llama" {
		t.Errorf("version %d arch %q", f.Version, f.Architecture())
	}
}

func TestOpenStories260K(t *testing.T) {
	f, err := Open(storiesPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Architecture() != "llama" {
		t.Errorf("architecture %q", f.Architecture())
	}
	if len(f.Tensors) != 48 {
		t.Errorf("%d tensors, want 48", len(f.Tensors))
	}
	checks := []struct {
		key  string
		want uint64
	}{
		{"llama.embedding_length", 64},
		{"llama.block_count", 5},
		{"llama.attention.head_count", 8},
		{"llama.attention.head_count_kv", 4},
		{"llama.feed_forward_length", 172},
		{"llama.context_length", 2048},
		{"tokenizer.ggml.bos_token_id", 1},
		{"tokenizer.ggml.eos_token_id", 2},
	}
	for _, c := range checks {
		if v, ok := f.Uint(c.key); !ok || v != c.want {
			t.Errorf("%s = %d (%v), want %d", c.key, v, ok, c.want)
		}
	}
	if eps, ok := f.Float("llama.attention.layer_norm_rms_epsilon"); !ok || math.Abs(eps-1e-5) > 1e-9 {
		t.Errorf("rms epsilon %v (%v)", eps, ok)
	}
	toks, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) != 512 || toks[1] != "<s>" || toks[3] != "<0x00>" {
		t.Errorf("tokens: ok=%v len=%d", ok, len(toks))
	}
	if scores, ok := f.Float32s("tokenizer.ggml.scores"); !ok || len(scores) != 512 {
		t.Errorf("scores: ok=%v len=%d", ok, len(scores))
	}
	if types, ok := f.Int32s("tokenizer.ggml.token_type"); !ok || len(types) != 512 {
		t.Errorf("token types: ok=%v len=%d", ok, len(types))
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		t.Fatal("token_embd.weight missing")
	}
	if !reflect.DeepEqual(emb.Dims, []uint64{64, 512}) || emb.Type != 0 {
		t.Errorf("token_embd dims %v type %d", emb.Dims, emb.Type)
	}
	if n := len(f.TensorData(emb)); n != 64*512*4 {
		t.Errorf("token_embd data %d bytes", n)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gguf")
	if err := os.WriteFile(bad, []byte("not a gguf file at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.gguf")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing.gguf"), dir, bad, empty} {
		if f, err := Open(p); err == nil {
			f.Close()
			t.Errorf("Open(%s) succeeded", p)
		}
	}
}

func TestOpenWrittenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	data := encode(t, []KV{{"general.architecture", "tiny"}},
		[]TensorData{{Name: "w", Dims: []uint64{4}, Type: 0, Data: f32bytes(1, 2, 3, 4)}})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ti, _ := f.Tensor("w")
	if !bytes.Equal(f.TensorData(ti), f32bytes(1, 2, 3, 4)) {
		t.Error("tensor data differs")
	}
}

// TestWriteEndsAligned checks the data section is whole aligned slots, the
// last tensor padded too: llama.cpp's gguf_init_from_file (no_alloc=false,
// as gguf tools use it) reads the sum of the padded tensor sizes and
// rejects a file that ends right after an unaligned last tensor.
func TestWriteEndsAligned(t *testing.T) {
	for _, align := range []uint32{32, 64} {
		data := encode(t, []KV{{"general.architecture", "tiny"}, {"general.alignment", align}},
			[]TensorData{
				{Name: "a", Dims: []uint64{5}, Type: 0, Data: f32bytes(1, 2, 3, 4, 5)},
				{Name: "b", Dims: []uint64{3}, Type: 0, Data: f32bytes(6, 7, 8)},
			})
		f, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		var blob uint64
		for _, ti := range f.Tensors {
			blob += alignUp(ti.Size, uint64(align))
		}
		if got, want := uint64(len(data))-f.DataOffset, blob; got != want {
			t.Errorf("alignment %d: data section has %d bytes, the padded tensors %d", align, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(storiesPath(f)); err == nil {
		f.Add(data[:1024]) // the header, cut inside the vocabulary
	}
	var buf bytes.Buffer
	_ = Write(&buf, []KV{{"general.architecture", "llama"}, {"n", []any{[]int32{1}, []string{"x"}}}, {"f", float32(1)}},
		[]TensorData{{Name: "w", Dims: []uint64{32, 1}, Type: 8, Data: make([]byte, 34)}})
	f.Add(buf.Bytes())
	f.Add(header(3, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for _, ti := range file.Tensors {
			if uint64(len(file.TensorData(ti))) != ti.Size {
				t.Fatalf("tensor %q: data length differs from size", ti.Name)
			}
		}
		for _, k := range file.Keys() {
			file.Value(k)
			file.Uint(k)
			file.Float(k)
			file.Int32s(k)
			file.Float32s(k)
		}
	})
}

// A file opened into huge pages holds the same bytes as its mapping, from
// a huge-page boundary; where the system has no transparent huge pages it
// is mapped instead, and says so.
func TestOpenInHugePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	w := make([]byte, 3<<20) // longer than one huge page, not a multiple
	for i := range w {
		w[i] = byte(i * 7)
	}
	data := encode(t, []KV{{"general.architecture", "tiny"}},
		[]TensorData{{Name: "w", Dims: []uint64{uint64(len(w))}, Type: 24, Data: w}}) // I8
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenIn(path, HugePages)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := HugePages
	huge, err := hugePageSize()
	if err != nil {
		want = Mapped
	}
	if f.Residence() != want {
		t.Fatalf("Residence() = %v, want %v (huge pages: %v)", f.Residence(), want, err)
	}
	if want == HugePages && uintptr(unsafe.Pointer(&f.data[0]))%uintptr(huge) != 0 {
		t.Errorf("data starts at %p, not on a %d-byte boundary", &f.data[0], huge)
	}
	if len(f.data) != len(data) || !bytes.Equal(f.data, data) {
		t.Fatal("the copy differs from the file")
	}
	ti, _ := f.Tensor("w")
	if !bytes.Equal(f.TensorData(ti), w) {
		t.Error("tensor data differs")
	}
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Residence() != Mapped {
		t.Errorf("Open: Residence() = %v, want mapped", m.Residence())
	}
	if p, _ := Parse(data); p.Residence() != Copied {
		t.Errorf("Parse: Residence() = %v, want copied", p.Residence())
	}
}
