// Command vicfg-hostops shows and changes hostagentd's remote-management
// state (lockdown mode, the certificate clients pin), in the manner of
// ESXi's vicfg-hostops.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	hostopscmd "hostagent/manage/vicfg/hostops"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := hostopscmd.Run(ctx, filepath.Base(os.Args[0]), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
