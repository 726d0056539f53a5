// Package gguf reads and writes GGUF model files (versions 2 and 3): the
// metadata key/value pairs, the tensor directory and the tensor data, which
// stays in a read-only memory mapping of the file. It knows the storage
// layout of ggml tensor types but nothing about what the tensors mean;
// architectures (internal/engine/model) and tokenizers bind to the names.
package gguf

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"sort"
)

// ErrCorrupt reports a file whose header is inconsistent.
var ErrCorrupt = errors.New("corrupt GGUF file")

const (
	magic            = 0x46554747 // "GGUF" read as a little-endian uint32
	defaultAlignment = 32
	maxDims          = 4 // GGML_MAX_DIMS
)

// TensorInfo is one entry of the tensor directory.
type TensorInfo struct {
	Name string
	// Dims are ggml's ne: Dims[0] is the contiguous dimension, so a 2-D
	// weight with Dims [in, out] is out rows of in elements.
	Dims []uint64
	// Type is ggml's tensor type id (F32=0, F16=1, Q8_0=8, Q4_K=12, ...),
	// the same numbering as internal/engine/tensor.Type.
	Type uint32
	// Offset is relative to the start of the data section.
	Offset uint64
	// Size is the tensor's length in bytes.
	Size uint64
}

// Elements is the number of elements in the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is a parsed GGUF file. Metadata values are copied out of the file;
// TensorData slices point into the mapping and are valid until Close.
type File struct {
	Version uint32
	Tensors []TensorInfo
	// Alignment is general.alignment, or 32 when absent.
	Alignment uint64
	// DataOffset is where the tensor data section starts in the file.
	DataOffset uint64

	keys    []string // in file order
	values  map[string]any
	types   map[string]ValueType
	tensors map[string]int
	data    []byte
	release func() error
	where   Residence
}

// Residence is where a File's tensor data lives while it is open.
type Residence int

const (
	// Mapped is a read-only mapping of the file: pages shared through the
	// page cache with every process that maps it, loaded as first read.
	Mapped Residence = iota
	// HugePages is a private copy in memory backed by transparent huge
	// pages, read in full at open: what a running model's decode steps,
	// which stream every weight once per token, read fastest (Linux).
	HugePages
	// Copied is a private copy in ordinary memory, where the file can be
	// neither mapped nor held in huge pages.
	Copied
)

func (r Residence) String() string {
	switch r {
	case Mapped:
		return "mapped"
	case HugePages:
		return "huge pages"
	case Copied:
		return "copied"
	}
	return fmt.Sprintf("Residence(%d)", int(r))
}

// Open maps the file at path read-only and parses it. If the file cannot
// be memory-mapped it is read into memory instead.
func Open(path string) (*File, error) {
	return OpenIn(path, Mapped)
}

// OpenIn opens the file at path with its tensor data in want: Mapped, or
// HugePages, which falls back to Mapped where the system has no
// transparent huge pages (Residence reports what it got).
func OpenIn(path string, want Residence) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: stat %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("gguf: %s is not a regular file", path)
	}
	var data []byte
	var release func() error
	got := want
	if want == HugePages {
		data, release, err = readHuge(fh, st.Size())
		if errors.Is(err, errNoHugePages) {
			got = Mapped
		} else if err != nil {
			return nil, fmt.Errorf("gguf: %s: %w", path, err)
		}
	}
	if got == Mapped {
		data, release, err = mapFile(fh, st.Size())
	}
	if err != nil || got == Copied {
		data, err = os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("gguf: read %s: %w", path, err)
		}
		release, got = func() error { return nil }, Copied
	}
	f, err := Parse(data)
	if err != nil {
		_ = release()
		return nil, fmt.Errorf("%s: %w", path, err) // err already says "gguf:"
	}
	f.release, f.where = release, got
	return f, nil
}

// Residence reports where the tensor data lives: Copied for a File made
// by Parse.
func (f *File) Residence() Residence { return f.where }

// Close releases the mapping. TensorData slices must not be used after it.
func (f *File) Close() error {
	if f.release == nil {
		return nil
	}
	rel := f.release
	f.release = nil
	f.data = nil
	if err := rel(); err != nil {
		return fmt.Errorf("gguf: unmap: %w", err)
	}
	return nil
}

// Parse decodes a GGUF file held in data. The File refers to data for
// tensor contents; data must not change while the File is in use.
func Parse(data []byte) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f.where = Copied
	return f, nil
}

func parse(data []byte) (*File, error) {
	r := &reader{data: data}
	m, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("magic: %w", err)
	}
	if m != magic {
		return nil, fmt.Errorf("%w: bad magic %#08x (not a GGUF file)", ErrCorrupt, m)
	}
	f := &File{values: map[string]any{}, types: map[string]ValueType{}, tensors: map[string]int{}, data: data}
	if f.Version, err = r.u32(); err != nil {
		return nil, fmt.Errorf("version: %w", err)
	}
	switch {
	case f.Version == 2 || f.Version == 3:
	case f.Version == 1:
		return nil, fmt.Errorf("unsupported version 1 (re-convert the model with a current llama.cpp)")
	case f.Version&0xFFFF == 0 && bits.ReverseBytes32(f.Version) <= 3:
		return nil, fmt.Errorf("big-endian file (version %d byte-swapped) is not supported", bits.ReverseBytes32(f.Version))
	default:
		return nil, fmt.Errorf("unsupported version %d", f.Version)
	}
	// The smallest tensor entry is an empty name, n_dims, one dim, type
	// and offset; the smallest key/value is an empty key, a type and a byte.
	nTensors, err := r.count("tensor", 8+4+8+4+8)
	if err != nil {
		return nil, err
	}
	nKV, err := r.count("metadata", 8+4+1)
	if err != nil {
		return nil, err
	}
	for i := 0; i < nKV; i++ {
		if err := f.readKV(r); err != nil {
			return nil, fmt.Errorf("metadata entry %d: %w", i, err)
		}
	}
	if err := f.readAlignment(); err != nil {
		return nil, err
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	for i := 0; i < nTensors; i++ {
		t, err := readTensorInfo(r)
		if err != nil {
			return nil, fmt.Errorf("tensor %d: %w", i, err)
		}
		if _, dup := f.tensors[t.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate tensor %q", ErrCorrupt, t.Name)
		}
		f.tensors[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	f.DataOffset = alignUp(uint64(r.off), f.Alignment)
	for _, t := range f.Tensors {
		if t.Offset%f.Alignment != 0 {
			return nil, fmt.Errorf("%w: tensor %q offset %d is not a multiple of the alignment %d", ErrCorrupt, t.Name, t.Offset, f.Alignment)
		}
		end := f.DataOffset + t.Offset + t.Size
		if t.Offset > uint64(len(data)) || end < t.Offset || end > uint64(len(data)) {
			return nil, fmt.Errorf("%w: tensor %q data [%d, %d) lies beyond the end of the file (%d bytes)", ErrTruncated, t.Name, f.DataOffset+t.Offset, end, len(data))
		}
	}
	return f, nil
}

func (f *File) readKV(r *reader) error {
	key, err := r.str()
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if _, dup := f.values[key]; dup {
		return fmt.Errorf("%w: duplicate key %q", ErrCorrupt, key)
	}
	vt, err := r.u32()
	if err != nil {
		return fmt.Errorf("key %q: type: %w", key, err)
	}
	t := ValueType(vt)
	if !t.valid() {
		return fmt.Errorf("%w: key %q has unknown value type %d", ErrCorrupt, key, vt)
	}
	v, err := r.value(t, 0)
	if err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	f.keys = append(f.keys, key)
	f.values[key] = v
	f.types[key] = t
	return nil
}

func (f *File) readAlignment() error {
	f.Alignment = defaultAlignment
	if _, ok := f.values["general.alignment"]; !ok {
		return nil
	}
	a, ok := f.Uint("general.alignment")
	if !ok || a == 0 || a&(a-1) != 0 || a > 1<<30 {
		return fmt.Errorf("%w: general.alignment %v is not a power of two", ErrCorrupt, f.values["general.alignment"])
	}
	f.Alignment = a
	return nil
}

func readTensorInfo(r *reader) (TensorInfo, error) {
	var t TensorInfo
	var err error
	if t.Name, err = r.str(); err != nil {
		return t, fmt.Errorf("name: %w", err)
	}
	nd, err := r.u32()
	if err != nil {
		return t, fmt.Errorf("%q: dims: %w", t.Name, err)
	}
	if nd == 0 || nd > maxDims {
		return t, fmt.Errorf("%w: tensor %q has %d dimensions (1..%d allowed)", ErrCorrupt, t.Name, nd, maxDims)
	}
	t.Dims = make([]uint64, nd)
	n := uint64(1)
	for i := range t.Dims {
		if t.Dims[i], err = r.u64(); err != nil {
			return t, fmt.Errorf("%q: dims: %w", t.Name, err)
		}
		hi, lo := bits.Mul64(n, t.Dims[i])
		if hi != 0 || lo > 1<<62 {
			return t, fmt.Errorf("%w: tensor %q dims %v overflow", ErrCorrupt, t.Name, t.Dims[:i+1])
		}
		n = lo
	}
	if t.Type, err = r.u32(); err != nil {
		return t, fmt.Errorf("%q: type: %w", t.Name, err)
	}
	if t.Offset, err = r.u64(); err != nil {
		return t, fmt.Errorf("%q: offset: %w", t.Name, err)
	}
	if t.Size, err = tensorSize(t.Type, t.Dims); err != nil {
		return t, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return t, nil
}

// tensorSize is the byte length of a tensor of type typ and shape dims.
func tensorSize(typ uint32, dims []uint64) (uint64, error) {
	g, ok := lookupType(typ)
	if !ok {
		return 0, fmt.Errorf("%w: unknown tensor type id %d", ErrCorrupt, typ)
	}
	if len(dims) == 0 {
		return 0, fmt.Errorf("%w: no dimensions", ErrCorrupt)
	}
	if dims[0]%uint64(g.blockSize) != 0 {
		return 0, fmt.Errorf("%w: row length %d is not a multiple of the %s block size %d", ErrCorrupt, dims[0], g.name, g.blockSize)
	}
	n := dims[0] / uint64(g.blockSize) * uint64(g.typeSize)
	for _, d := range dims[1:] {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > 1<<62 {
			return 0, fmt.Errorf("%w: tensor size overflows", ErrCorrupt)
		}
		n = lo
	}
	return n, nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// Keys lists the metadata keys in file order.
func (f *File) Keys() []string { return append([]string(nil), f.keys...) }

// SortedKeys lists the metadata keys in lexical order.
func (f *File) SortedKeys() []string {
	k := f.Keys()
	sort.Strings(k)
	return k
}

// Type reports the GGUF value type stored for key.
func (f *File) Type(key string) (ValueType, bool) {
	t, ok := f.types[key]
	return t, ok
}

// Tensor looks a tensor up by name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorData is t's bytes inside the file. Parse has checked that they lie
// within it. The slice is read-only (writing to a mapping faults).
func (f *File) TensorData(t TensorInfo) []byte {
	start := f.DataOffset + t.Offset
	return f.data[start : start+t.Size : start+t.Size]
}
