package peertest

import (
	"testing"
	"time"
)

// TestRsyslogdPauseTerminate: a paused rsyslogd still accepts into its
// socket buffers and writes what it got once resumed; after Terminate,
// Start brings it back on the same port.
func TestRsyslogdPauseTerminate(t *testing.T) {
	r := StartRsyslogd(t, RsyslogdOptions{TCP: true})
	r.Pause(t)
	// The kernel completes the connection and buffers the bytes.
	if err := sendStream(r.TCPAddr(), nil, "<13>1 - - app - - - while paused"); err != nil {
		t.Fatal(err)
	}
	r.Resume(t)
	if m := r.WaitMessages(t, 1, 10*time.Second); m[0].Msg != "while paused" {
		t.Errorf("got %+v", m[0])
	}
	r.Terminate(t)
	r.Terminate(t) // not running: nothing to do
	r.Start(t)
	if err := sendStream(r.TCPAddr(), nil, "<13>1 - - app - - - after restart"); err != nil {
		t.Fatal(err)
	}
	if m := r.WaitMessages(t, 2, 10*time.Second); m[1].Msg != "after restart" {
		t.Errorf("got %+v", m[1])
	}
}
