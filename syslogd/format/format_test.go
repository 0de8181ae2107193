package format

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"hostagent/syslogd"
)

var when = time.Date(2026, 11, 25, 17, 4, 5, 123456789, time.UTC)

func record() *syslogd.Record {
	return &syslogd.Record{
		Time: when, Hostname: "esx01.example.com", AppName: "hostd", ProcID: "2101",
		Facility: 16, Severity: 6, Message: "Task completed: VM web01 powered on", Seq: 42,
	}
}

func TestAppend5424(t *testing.T) {
	want := `<134>1 2026-11-25T17:04:05.123456Z esx01.example.com hostd 2101 - [meta sequenceId="42"] Task completed: VM web01 powered on`
	if got := string(Append(nil, record(), RFC5424, None, 0)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	r := &syslogd.Record{Facility: 0, Severity: 0}
	if got := string(Append(nil, r, RFC5424, None, 0)); got != "<0>1 - - - - - -" {
		t.Errorf("empty record: %q", got)
	}
	r = record()
	r.Hostname, r.AppName, r.Seq = "bad host\x00", strings.Repeat("a", 60), MaxSequenceID+5
	got := string(Append(nil, r, RFC5424, None, 0))
	if !strings.Contains(got, " bad_host_ "+strings.Repeat("a", 48)+" 2101") || !strings.Contains(got, `sequenceId="5"`) {
		t.Errorf("header fields not sanitised or sequence not wrapped: %s", got)
	}
}

func TestAppend3164(t *testing.T) {
	r := record()
	r.Time = time.Date(2026, 11, 5, 7, 4, 5, 0, time.Local)
	want := "<134>Nov  5 07:04:05 esx01.example.com hostd[2101]: Task completed: VM web01 powered on"
	if got := string(Append(nil, r, RFC3164, None, 0)); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	r.ProcID, r.AppName = "", "vmkernel.log"
	if got := string(Append(nil, r, RFC3164, None, 0)); !strings.Contains(got, " vmkernel.log: Task") {
		t.Errorf("no procid: %q", got)
	}
}

func TestFraming(t *testing.T) {
	r := record()
	plain := Append(nil, r, RFC5424, None, 0)
	counted := string(Append([]byte("previous"), r, RFC5424, OctetCounting, 0))
	if want := "previous" + itoa(len(plain)) + " " + string(plain); counted != want {
		t.Errorf("octet counting:\n got %q\nwant %q", counted, want)
	}
	r.Message = "two\nlines"
	if got := string(Append(nil, r, RFC5424, Newline, 0)); !strings.HasSuffix(got, " two#012lines\n") {
		t.Errorf("newline framing: %q", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestMaxLengthKeepsCharacters(t *testing.T) {
	r := record()
	r.Message = strings.Repeat("é", 2000) // 2 octets each
	for _, max := range []int{480, 481, 2048} {
		msg := Append(nil, r, RFC5424, None, max)
		if len(msg) > max || len(msg) < max-1 {
			t.Errorf("max %d: %d octets", max, len(msg))
		}
		if !strings.HasSuffix(string(msg), "é") {
			t.Errorf("max %d: cut inside a character: %q", max, msg[len(msg)-4:])
		}
	}
	counted := Append(nil, r, RFC5424, OctetCounting, 480)
	if !strings.HasPrefix(string(counted), "480 ") && !strings.HasPrefix(string(counted), "479 ") {
		t.Errorf("octet count of a cut message: %q", counted[:6])
	}
}

func TestParse(t *testing.T) {
	if f, err := ParseFormat("RFC3164"); err != nil || f != RFC3164 {
		t.Error(f, err)
	}
	if _, err := ParseFormat("json"); err == nil || !strings.Contains(err.Error(), `"json"`) {
		t.Error(err)
	}
	if f, err := ParseFraming("octet-counting"); err != nil || f != OctetCounting {
		t.Error(f, err)
	}
	if _, err := ParseFraming("lf"); err == nil {
		t.Error("lf accepted")
	}
}

func BenchmarkAppend5424OctetCounting(b *testing.B) {
	r := record()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for range b.N {
		buf = Append(buf[:0], r, RFC5424, OctetCounting, 8192)
	}
}

func TestSourceElement(t *testing.T) {
	r := record()
	r.Source, r.SourceID, r.Part = `/var/log/a "b" ]c\d.log`, "2049:1311:5f0c3a9e1b2d", 2
	got := string(Append(nil, r, RFC5424, None, 0))
	want := `[meta sequenceId="42"][` + SDID + ` source="/var/log/a \"b\" \]c\\d.log" file="2049:1311:5f0c3a9e1b2d" part="2"] Task`
	if !strings.Contains(got, want) {
		t.Errorf("got  %s\nwant it to contain %s", got, want)
	}
	if n := len(got) - len(r.Message); n > len(r.Hostname)+len(r.AppName)+len(r.ProcID)+len(r.MsgID)+45+SDLen(r) {
		t.Errorf("header of %d bytes is over the bound SDLen gives", n)
	}
	r.Seq, r.SourceID, r.Part = 0, "", 0
	r.Source = "unix:/run/hostagent/syslog.sock"
	if got := string(Append(nil, r, RFC5424, None, 0)); !strings.Contains(got, ` - [`+SDID+` source="unix:/run/hostagent/syslog.sock"] Task`) {
		t.Errorf("socket source: %s", got)
	}
}
