// Command vicfg-syslog configures hostagentd's remote syslog forwarding as
// ESXi's vicfg-syslog does; it is installed as esxcfg-syslog too and names
// itself after argv[0].
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	syslogcmd "hostagent/manage/vicfg/syslog"
)

func main() {
	// Ctrl-C abandons a request in flight (a --mark or --reload waiting on
	// the pipeline).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := syslogcmd.Run(ctx, filepath.Base(os.Args[0]), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
