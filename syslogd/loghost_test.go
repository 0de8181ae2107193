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
		"http://loghost":      `scheme "http" is not udp, tcp, ssl, relp, kafka, kafkas or nats`,
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

func TestParseBusLoghost(t *testing.T) {
	for in, want := range map[string]string{
		"kafka://b1/logs":                           "kafka://b1:9092/logs",
		"KAFKA://b1:9092,b2:9093,[::1]/esx.logs":    "kafka://b1:9092,b2:9093,[::1]:9092/esx.logs",
		"kafkas://broker/host-logs_1":               "kafkas://broker:9093/host-logs_1",
		"nats://127.0.0.1/logs.esx.host1":           "nats://127.0.0.1:4222/logs.esx.host1",
		"nats://n1:4222, n2:4223/logs":              "nats://n1:4222,n2:4223/logs",
		"nats://[fe80::1%25eth0]:4222/logs.$SYS_ok": "nats://[fe80::1%25eth0]:4222/logs.$SYS_ok",
	} {
		h, err := ParseLoghost(in)
		if err != nil || h.String() != want {
			t.Errorf("ParseLoghost(%q) = %s, %v; want %s", in, h, err, want)
			continue
		}
		if back, err := ParseLoghost(h.String()); err != nil || back != h {
			t.Errorf("ParseLoghost(%q) = %#v, %v; want %#v back", h.String(), back, err, h)
		}
	}
	h, _ := ParseLoghost("kafka://b1,b2:9999/t")
	if got := h.Servers(); len(got) != 2 || got[0] != "b1:9092" || got[1] != "b2:9999" || h.Topic != "t" {
		t.Errorf("servers %v topic %q", got, h.Topic)
	}
	for in, says := range map[string]string{
		"kafka://b1:9092":                        "no topic",
		"kafka://b1:9092/":                       "no topic",
		"nats://n1":                              "no subject",
		"kafka://b1/a/b":                         "only servers and a topic",
		"kafka://u:p@b1/logs":                    "credentials go in loghost_options",
		"kafka://b1/logs?acks=1":                 "only servers and a topic",
		"kafka://b1/bad topic":                   `topic "bad topic"`,
		"kafka://b1/..":                          `topic ".."`,
		"kafka://b1/" + strings.Repeat("t", 250): "1 to 249",
		"nats://n1/logs.*":                       "without wildcards",
		"nats://n1/logs.>":                       "without wildcards",
		"nats://n1/logs..esx":                    "none empty",
		"nats://n1:0/logs":                       `port "0"`,
		"nats://n1,n1:4222/logs":                 "listed twice",
		"kafka://b1,bad_host/logs":               `host "bad_host"`,
		"kafka://,b1/logs":                       "host is empty",
		"nats://n1/$JS.API.STREAM.DELETE.LOGS":   "NATS's own",
		"nats://n1/_INBOX.x":                     "NATS's own",
	} {
		_, err := ParseLoghost(in)
		if err == nil || !strings.Contains(err.Error(), says) || !strings.Contains(err.Error(), fmt.Sprintf("%q", in)) {
			t.Errorf("ParseLoghost(%q) = %v, want an error naming the value and saying %s", in, err, says)
		}
	}
}

func TestSplitLoghostsKeepsBusServers(t *testing.T) {
	got := SplitLoghosts("tcp://a:514, kafka://b1:9092,b2:9092,b3/logs,nats://n1,n2/s, udp://c,d")
	want := []string{"tcp://a:514", "kafka://b1:9092,b2:9092,b3/logs", "nats://n1,n2/s", "udp://c", "d"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("SplitLoghosts = %q, want %q", got, want)
	}
	if _, err := ParseLoghosts("kafka://b1/logs,b2"); err == nil || !strings.Contains(err.Error(), `loghost "b2" follows "kafka://b1/logs" without a scheme`) {
		t.Errorf("a broker after the topic: %v", err)
	}
	if hs, err := ParseLoghosts("tcp://a,b"); err != nil || len(hs) != 2 || hs[1].Scheme != "udp" {
		t.Errorf("a bare host after another loghost is UDP, as on ESXi: %v %v", hs, err)
	}
	hs, err := ParseLoghosts("kafka://b1,b2/logs,kafka://b1,b2/other,kafka://b1:9092,b2:9092/logs")
	if err == nil || !strings.Contains(err.Error(), "listed twice") || len(hs) != 3 {
		t.Errorf("the same cluster and topic twice: %v %v", hs, err)
	}
}
