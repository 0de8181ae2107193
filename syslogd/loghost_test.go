package syslogd

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseLoghost(t *testing.T) {
	for in, want := range map[string]string{
		"udp://10.0.0.5:514":        "udp://10.0.0.5:514",
		"tcp://loghost.example.com": "tcp://loghost.example.com:514",
		"ssl://loghost:1514":        "ssl://loghost:1514",
		"ssl://loghost":             "ssl://loghost:1514",
		"TCP://[::1]:1514":          "tcp://[::1]:1514",
		"udp://[2001:db8::5]":       "udp://[2001:db8::5]:514",
		"10.0.0.5":                  "udp://10.0.0.5:514",
		"loghost:5140":              "udp://loghost:5140",
		" tcp://loghost:1514/ ":     "tcp://loghost:1514",
		"relp://collector":          "relp://collector:2514",
		"RELP://[::1]:20514":        "relp://[::1]:20514",
	} {
		h, err := ParseLoghost(in)
		if err != nil || h.String() != want {
			t.Errorf("ParseLoghost(%q) = %s, %v; want %s", in, h, err, want)
		}
	}
	for in, says := range map[string]string{
		"http://loghost":      `scheme "http" is not udp, tcp, ssl or relp`,
		"tcp://loghost:0":     `port "0"`,
		"tcp://loghost:70000": `port "70000"`,
		"tcp://loghost:x":     "loghost",
		"tcp://":              "host is empty",
		"tcp://bad_host:514":  `host "bad_host"`,
		"tcp://loghost:514/x": "only a host and a port",
		"tcp://u@loghost:514": "only a host and a port",
		"tcp://loghost:":      "empty port",
		"udp://[::1":          "loghost",
	} {
		_, err := ParseLoghost(in)
		if err == nil || !strings.Contains(err.Error(), says) || !strings.Contains(err.Error(), fmt.Sprintf("%q", in)) {
			t.Errorf("ParseLoghost(%q) = %v, want an error naming the value and saying %s", in, err, says)
		}
	}
}

func TestParseLoghosts(t *testing.T) {
	hs, err := ParseLoghosts("udp://a:514, tcp://b:1514,,ssl://[::1]:1514")
	if err != nil || len(hs) != 3 || hs[2].String() != "ssl://[::1]:1514" {
		t.Fatalf("%v %v", hs, err)
	}
	if _, err := ParseLoghosts("tcp://a, tcp://a:514"); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := ParseLoghosts("tcp://a:0, ftp://b"); err == nil || !strings.Contains(err.Error(), `port "0"`) || !strings.Contains(err.Error(), `"ftp"`) {
		t.Errorf("every problem is reported: %v", err)
	}
	var many string
	for i := range MaxLoghosts + 1 {
		many += fmt.Sprintf("tcp://h:%d,", i+1)
	}
	if _, err := ParseLoghosts(many); err == nil || !strings.Contains(err.Error(), "at most 16") {
		t.Errorf("too many: %v", err)
	}
}
