// Command vicfg-cfgbackup saves, restores or resets hostagentd's whole
// configuration as ESXi's vicfg-cfgbackup does; it names itself after
// argv[0].
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	cfgbackupcmd "hostagent/manage/vicfg/cfgbackup"
)

func main() {
	// Ctrl-C abandons the request in flight, or the confirmation of --reset.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cfgbackupcmd.Run(ctx, filepath.Base(os.Args[0]), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
