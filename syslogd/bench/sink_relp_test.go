package bench

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// relpFrame is TXNR SP COMMAND SP DATALEN [SP DATA] LF.
func relpFrame(txnr int, cmd, data string) string {
	if data == "" {
		return fmt.Sprintf("%d %s 0\n", txnr, cmd)
	}
	return fmt.Sprintf("%d %s %d %s\n", txnr, cmd, len(data), data)
}

func line(n int) string {
	return fmt.Sprintf("<134>1 2024-05-14T09:00:00Z host %s - - - Task done %07d", appName, n)
}

// TestRELPSink runs one session against the benchmark's RELP sink: every
// transaction is answered, in order, and close ends the session.
func TestRELPSink(t *testing.T) {
	s := startSink(t, 3, relpFraming, nil)
	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", s.port()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	session := relpFrame(1, "open", "relp_version=0\nrelp_software=test\ncommands=syslog") +
		relpFrame(2, "syslog", line(0)) +
		relpFrame(3, "syslog", line(2)) +
		relpFrame(4, "syslog", "<14>1 - - hostagentd - - - its own log") +
		relpFrame(5, "syslog", line(1)+"\n") + // rsyslog's template ends with LF
		"6 close 0 \n" // librelp also accepts DATALEN 0 followed by SP
	if _, err := io.WriteString(c, session); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c) // the sink closes after answering close
	if err != nil {
		t.Fatal(err)
	}
	want := relpFrame(1, "rsp", "200 OK\nrelp_version=0\nrelp_software=hostagent-bench\ncommands=syslog") +
		relpFrame(2, "rsp", "200 OK") + relpFrame(3, "rsp", "200 OK") + relpFrame(4, "rsp", "200 OK") +
		relpFrame(5, "rsp", "200 OK") + relpFrame(6, "rsp", "")
	if string(got) != want {
		t.Errorf("answers:\n%q\nwant\n%q", got, want)
	}
	select {
	case <-s.done:
	default:
		t.Error("the sink did not count every line")
	}
	if st := s.state(); st.distinct != 3 || st.other != 1 || st.bad != 0 || st.err != nil {
		t.Errorf("sink state %+v, want 3 distinct lines, 1 other message, no error", st)
	}
}

// TestRELPSinkRefuses: a TXNR out of sequence or a malformed frame is a
// protocol error the run reports.
func TestRELPSinkRefuses(t *testing.T) {
	for name, session := range map[string]string{
		"skipped TXNR":    relpFrame(1, "open", "relp_version=0") + relpFrame(3, "syslog", line(0)),
		"no LF":           "1 syslog 3 abcX",
		"DATALEN then LF": "1 syslog 3\nabc\n",
		"unknown":         relpFrame(1, "starttls", ""),
	} {
		t.Run(name, func(t *testing.T) {
			s := startSink(t, 1, relpFraming, nil)
			c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", s.port()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, session); err != nil {
				t.Fatal(err)
			}
			_, _ = io.ReadAll(c) // until the sink drops the connection
			if err := s.state().err; err == nil || !strings.HasPrefix(err.Error(), "RELP") {
				t.Errorf("sink error %v, want a RELP protocol error", err)
			}
		})
	}
}
