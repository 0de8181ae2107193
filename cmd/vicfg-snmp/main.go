// Command vicfg-snmp configures hostagentd's SNMP agent as ESXi's vicfg-snmp
// does; it is installed as esxcfg-snmp too and names itself after argv[0].
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	snmpcmd "hostagent/manage/vicfg/snmp"
)

func main() {
	// Ctrl-C abandons a request in flight (a --test waiting for informs).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := snmpcmd.Run(ctx, filepath.Base(os.Args[0]), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
