package peertest

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestLogrotateGenerations checks the generations each policy leaves, as
// the loss tests rely on them.
func TestLogrotateGenerations(t *testing.T) {
	tests := []struct {
		name string
		opts LogrotateOptions
		want []string // files after three runs, and their content
	}{
		{"create", LogrotateOptions{Rotate: 5}, []string{"app.log=4", "app.log.1=3", "app.log.2=2", "app.log.3=1"}},
		{"create rotate 2", LogrotateOptions{Rotate: 2}, []string{"app.log=4", "app.log.1=3", "app.log.2=2"}},
		{"compress delaycompress", LogrotateOptions{Compress: true, DelayCompress: true, Rotate: 5},
			[]string{"app.log=4", "app.log.1=3", "app.log.2.gz=2", "app.log.3.gz=1"}},
		{"compress", LogrotateOptions{Compress: true, Rotate: 5}, []string{"app.log=4", "app.log.1.gz=3", "app.log.2.gz=2", "app.log.3.gz=1"}},
		{"copytruncate", LogrotateOptions{CopyTruncate: true, Rotate: 5}, []string{"app.log=4", "app.log.1=3", "app.log.2=2", "app.log.3=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			lr := NewLogrotate(t, tt.opts, path)
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { f.Close() }()
			for _, gen := range []string{"1", "2", "3"} {
				if _, err := f.WriteString(gen); err != nil {
					t.Fatal(err)
				}
				lr.Run(t)
				if !tt.opts.CopyTruncate {
					f.Close()
					if f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := f.WriteString("4"); err != nil {
				t.Fatal(err)
			}
			var got []string
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				got = append(got, e.Name()+"="+readMaybeGzip(t, filepath.Join(dir, e.Name())))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("files %v, want %v", got, tt.want)
			}
		})
	}
}

func readMaybeGzip(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if filepath.Ext(path) == ".gz" {
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = z
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
