package syslogd

import (
	"fmt"
	"strings"
	"testing"
)

var loghostSeeds = []string{
	"udp://10.0.0.5:514", "tcp://loghost.example.com", "ssl://loghost:1514", "ssl://loghost", "TCP://[::1]:1514",
	"udp://[2001:db8::5]", "10.0.0.5", "loghost:5140", " tcp://loghost:1514/ ", "http://loghost", "tcp://loghost:0",
	"tcp://loghost:70000", "tcp://loghost:x", "tcp://", "tcp://bad_host:514", "tcp://loghost:514/x",
	"tcp://u@loghost:514", "tcp://loghost:", "udp://[::1", "[::1]:514", "::1",
	"tcp://loghost:+514", "tcp://loghost:0514", "udp://loghost.?", "udp://loghost#", "udp://LOGHOST.",
	"relp://collector", "relp://[::1]:2514", "relp://collector:0",
	"kafka://b1:9092,b2/logs", "kafkas://b/t", "nats://n1,n2:4223/logs.esx", "kafka://b1,", "nats://n/a..b",
	"kafka://b1/t,b2", "nats://[::1]:4222,[fe80::1%25eth0]/s",
}

// FuzzParseLoghost checks that an accepted loghost is complete and that
// its String re-parses to the same Loghost, and that a refused one is named
// in the error.
func FuzzParseLoghost(f *testing.F) {
	for _, s := range loghostSeeds {
		f.Add(s)
	}
	f.Add("udp://[fe80::1%25eth0]:514") // found by fuzzing: a zone that String() wrote unescaped
	{
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseLoghost(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Errorf("ParseLoghost(%q): error %q does not name the value", s, err)
			}
			return
		}
		if _, ok := DefaultPort(h.Scheme); !ok || h.Host == "" || h.Port < 1 || h.Port > 65535 {
			t.Fatalf("ParseLoghost(%q) = %+v: incomplete", s, h)
		}
		canon := h.String()
		again, err := ParseLoghost(canon)
		if err != nil || again != h {
			t.Fatalf("ParseLoghost(%q) = %+v, but ParseLoghost(String() = %q) = %+v, %v", s, h, canon, again, err)
		}
	})
}

// FuzzParseLoghosts checks that an accepted list has no duplicates, at most
// MaxLoghosts entries, and that the canonical forms joined by commas parse
// to the same list.
func FuzzParseLoghosts(f *testing.F) {
	f.Add("udp://a:514, tcp://b:1514,,ssl://[::1]:1514")
	f.Add("tcp://a, tcp://a:514")
	f.Add(strings.Repeat("tcp://a,", 17))
	f.Add("")
	f.Add(" , ,")
	for _, s := range loghostSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hs, err := ParseLoghosts(s)
		if err != nil {
			return
		}
		if len(hs) > MaxLoghosts {
			t.Fatalf("ParseLoghosts(%q) accepted %d loghosts", s, len(hs))
		}
		canon := make([]string, len(hs))
		seen := map[Loghost]bool{}
		for i, h := range hs {
			if seen[h] {
				t.Fatalf("ParseLoghosts(%q) accepted %s twice", s, h)
			}
			seen[h] = true
			canon[i] = h.String()
		}
		joined := strings.Join(canon, ",")
		again, err := ParseLoghosts(joined)
		if err != nil || len(again) != len(hs) {
			t.Fatalf("ParseLoghosts(%q) = %v, but ParseLoghosts(%q) = %v, %v", s, hs, joined, again, err)
		}
		for i := range hs {
			if again[i] != hs[i] {
				t.Fatalf("ParseLoghosts(%q)[%d] = %+v, re-parsed as %+v", s, i, hs[i], again[i])
			}
		}
	})
}
