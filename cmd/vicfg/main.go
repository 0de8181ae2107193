// Command vicfg configures hostagentd as ESXi's vCLI commands configure a
// host: one program holding vicfg-snmp, vicfg-syslog, vicfg-user,
// vicfg-hostops and vicfg-cfgbackup. It is installed under each of their
// names (and ESXi's esxcfg-snmp and esxcfg-syslog) as links, and argv[0]
// picks the command; "vicfg COMMAND ..." runs one too, and "vicfg" alone
// lists them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"hostagent/manage/vicfg"
	// Each command registers itself with vicfg.
	_ "hostagent/manage/vicfg/cfgbackup"
	_ "hostagent/manage/vicfg/hostops"
	_ "hostagent/manage/vicfg/snmp"
	_ "hostagent/manage/vicfg/syslog"
	_ "hostagent/manage/vicfg/user"
)

func main() {
	// Ctrl-C abandons the request in flight (a --test waiting for informs,
	// a --reload), or the confirmation of a reset; a session opened for
	// this run is still logged out.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := vicfg.Commands.Main(ctx, os.Args, vicfg.IO{
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Terminal: vicfg.NewTerminal(os.Stdin, os.Stderr),
	})
	stop()
	os.Exit(code)
}
