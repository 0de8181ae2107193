//go:build faultinject

package daemon

import (
	"os"
	"strings"
	"syscall"
)

// With the faultinject tag, HOSTAGENT_FAULT=restore:STEP makes the daemon
// SIGKILL itself when a restore or reset reaches STEP (see faultHook): no
// deferred cleanup, no flush, as a power cut or the OOM killer would.
func init() {
	step, ok := strings.CutPrefix(os.Getenv("HOSTAGENT_FAULT"), "restore:")
	if !ok || step == "" {
		return
	}
	faultHook = func(at string) {
		if at != step {
			return
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way; nothing more may happen
	}
}
