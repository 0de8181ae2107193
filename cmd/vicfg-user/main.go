// Command vicfg-user manages hostagentd's users and roles for remote
// management, as ESXi's vicfg-user does.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	usercmd "hostagent/manage/vicfg/user"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := usercmd.Run(ctx, filepath.Base(os.Args[0]), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
