//go:build !linux

package snmpd

import "syscall"

// sysProcAttr: without Linux's parent-death signal, the pid file check
// (killStale) is what ends an snmpd a crashed hostagent left behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
