package resources

import (
	"errors"
	"fmt"

	"hostagent/collectors"
	"hostagent/mibs"
)

// Section is the collector's part of what polls read: VMWARE-RESOURCES-MIB's
// CPU and memory scalars, refreshed at every Poll.
const Section = "resources"

// VMWARE-RESOURCES-MIB (vmwResources 1.3.6.1.4.1.6876.3).
var (
	vmwNumCPUs  = mibs.MustOID("1.3.6.1.4.1.6876.3.1.1.0")
	vmwMemSize  = mibs.MustOID("1.3.6.1.4.1.6876.3.2.1.0")
	vmwMemCOS   = mibs.MustOID("1.3.6.1.4.1.6876.3.2.2.0")
	vmwMemAvail = mibs.MustOID("1.3.6.1.4.1.6876.3.2.3.0")
)

// WithPublisher makes Poll publish the VMWARE-RESOURCES-MIB scalars to p.
func WithPublisher(p collectors.Publisher) Option { return func(r *Resources) { r.publisher = p } }

// publishHost publishes the CPU count and memory in kilobytes. ESXi's
// vmwMemCOS is the memory its service console keeps for itself (0 on
// ESXi); here the host's own Linux is that console, so it is the memory
// the kernel cannot hand to VMs now (MemTotal - MemAvailable), and
// vmwMemAvail = vmwMemSize - vmwMemCOS (MemAvailable), as the MIB computes it.
func (r *Resources) publishHost(snap *snapshot) error {
	if r.publisher == collectors.Discard {
		return nil
	}
	stat, err := snap.Stat()
	if err != nil {
		return fmt.Errorf("vmwNumCPUs: %w", err)
	}
	m, err := snap.Meminfo()
	if err != nil {
		return fmt.Errorf("vmwMemSize: %w", err)
	}
	used, err := memoryUsed(m)
	if err != nil {
		return fmt.Errorf("vmwMemSize: %w", err)
	}
	if len(stat.CPU) == 0 {
		return errors.New("vmwNumCPUs: /proc/stat lists no cpuN line")
	}
	gauge := func(oid mibs.OID, v uint64) mibs.VarBind {
		return mibs.VarBind{OID: oid, Syntax: mibs.Gauge32, Uint: min(v, 1<<32-1)}
	}
	r.publisher.Publish(Section, []mibs.VarBind{
		gauge(vmwNumCPUs, uint64(len(stat.CPU))),
		gauge(vmwMemSize, used.total),
		gauge(vmwMemCOS, used.used),
		gauge(vmwMemAvail, used.total-used.used),
	})
	return nil
}
