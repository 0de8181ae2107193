package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkFollow reads one 100k-line file through Follow into a draining
// channel, the way the spool consumes it; it reports lines/s.
func BenchmarkFollow(b *testing.B) {
	const lines = 100_000
	dir := b.TempDir()
	var sb strings.Builder
	for i := range lines {
		fmt.Fprintf(&sb, "2024-05-01T12:00:00.000Z info hostd[12345] [Originator@6876 sub=Vimsvc] line %d of the benchmark\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "hostd.log"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan []Line, 8)
		errc := make(chan error, 1)
		go func() { errc <- Follow(ctx, Config{Globs: []string{filepath.Join(dir, "*.log")}}, nil, out, nil) }()
		for n := 0; n < lines; {
			n += len(<-out)
		}
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}
