// Package collectors turns readings of the host (VM state, hardware
// sensors, resource counters, network links) into notifications. Every
// source delivers through a Notifier, so none of them knows about SNMP,
// targets or encodings.
package collectors

import (
	"context"

	"hostagent/mibs"
)

// Notifier is the one API for every producer of notifications; the SNMP
// agent (snmpagent.Agent) implements it.
type Notifier interface {
	// Notify sends n, built from the catalogue (mibs.VmwVmPoweredOn.New,
	// ...), to every configured target. It does not block on a target.
	Notify(ctx context.Context, n mibs.Notification) error
}
