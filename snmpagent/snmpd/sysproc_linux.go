package snmpd

import "syscall"

// sysProcAttr makes the kernel send snmpd SIGTERM when hostagent dies,
// however it dies, so that no snmpd is left holding the port; its own
// process group keeps a terminal's Ctrl-C (meant for hostagent in the
// foreground, make run) from reaching it before hostagent stops it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
}
