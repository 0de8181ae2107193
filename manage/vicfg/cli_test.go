package vicfg

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/spf13/pflag"
)

func TestCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	c := Command{Prog: "esxcfg-snmp", Stdout: &out, Stderr: &errOut}
	if code := c.Fail(errors.New("port 0: must be from 1 to 65535\nloglevel \"x\": bad")); code != 1 {
		t.Errorf("Fail = %d", code)
	}
	if want := "esxcfg-snmp: port 0: must be from 1 to 65535\nesxcfg-snmp: loglevel \"x\": bad\n"; errOut.String() != want {
		t.Errorf("Fail wrote %q", errOut.String())
	}
	for _, tc := range []struct {
		args []string
		code int
		done bool
	}{
		{[]string{"--help"}, 0, true},
		{[]string{"--nope"}, 1, true},
		{[]string{"stray"}, 1, true},
		{[]string{}, 0, false},
	} {
		out.Reset()
		errOut.Reset()
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		help := fs.Bool("help", false, "")
		code, done := c.Parse(fs, tc.args, help, func(w io.Writer) { io.WriteString(w, "usage\n") })
		if code != tc.code || done != tc.done {
			t.Errorf("Parse(%v) = %d, %v", tc.args, code, done)
		}
		if tc.code == 1 && !bytes.Contains(errOut.Bytes(), []byte("see esxcfg-snmp --help")) {
			t.Errorf("Parse(%v): no pointer to --help: %q", tc.args, errOut.String())
		}
	}
}
