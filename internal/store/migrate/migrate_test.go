package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{
			name: "ordered",
			files: fstest.MapFS{
				"m/0002_b.sql":   {Data: []byte("B")},
				"m/0001_a.sql":   {Data: []byte("A")},
				"m/README.md":    {Data: []byte("ignored")},
				"m/0010_x.txt":   {Data: []byte("ignored")},
				"m/sub/0003.sql": {Data: []byte("ignored: in a subdirectory")},
			},
			want: []int{1, 2},
		},
		{name: "gap", files: fstest.MapFS{"m/0001_a.sql": {}, "m/0003_c.sql": {}}, wantErr: "expected version 2"},
		{name: "duplicate", files: fstest.MapFS{"m/0001_a.sql": {}, "m/0001_b.sql": {}}, wantErr: "expected version 2"},
		{name: "bad name", files: fstest.MapFS{"m/init.sql": {}}, wantErr: "NNNN_description.sql"},
		{name: "zero", files: fstest.MapFS{"m/0000_a.sql": {}}, wantErr: "NNNN_description.sql"},
		{name: "empty", files: fstest.MapFS{"m/README": {}}, wantErr: "no migrations"},
		{name: "missing dir", files: fstest.MapFS{}, wantErr: "read migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Load(tt.files, "m")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("versions = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("versions = %v, want %v", got, tt.want)
				}
			}
			if ms[0].SQL != "A" || ms[0].Name != "0001_a.sql" {
				t.Fatalf("first migration = %+v", ms[0])
			}
		})
	}
}

func TestPending(t *testing.T) {
	ms := []Migration{{Version: 1}, {Version: 2}, {Version: 3}}
	tests := []struct {
		current int
		want    int
		wantErr bool
	}{
		{current: 0, want: 3},
		{current: 2, want: 1},
		{current: 3, want: 0},
		{current: 4, wantErr: true},
	}
	for _, tt := range tests {
		got, err := Pending(ms, tt.current)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
				t.Errorf("Pending(%d) error = %v, want a newer-schema error", tt.current, err)
			}
			continue
		}
		if err != nil || len(got) != tt.want {
			t.Errorf("Pending(%d) = %d migrations, %v; want %d", tt.current, len(got), err, tt.want)
		}
		if len(got) > 0 && got[0].Version != tt.current+1 {
			t.Errorf("Pending(%d) starts at %d", tt.current, got[0].Version)
		}
	}
}
