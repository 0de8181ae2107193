package collectors

// What the sources know of the host now, for the management API's view of
// the host (GET /api/v1/host). A source that has such state offers it by
// implementing VMReporter or SensorReporter; the daemon asks each running
// source (or a Runner's Poller) and names none of them.
//
// Each source keeps a snapshot it replaces whole whenever it publishes its
// MIB section, and the accessor only loads it: data flows one way, from
// the source to its readers, and a reader never takes a lock the source
// polls or notifies under, so a console that polls often delays nothing.

// VM is one virtual machine as a source last saw it.
type VM struct {
	ID         int    // vmwVmIdx
	Name       string // vmwVmDisplayName
	State      string // poweredOn, poweredOff, suspended or unknown
	ConfigPath string // vmwVmConfigFile
}

// VMReporter is a source that knows the host's VMs.
type VMReporter interface {
	// VMs lists the VMs as last published, by ID; nil before the first
	// look. Safe from any goroutine.
	VMs() []VM
}

// Sensor is one hardware sensor as a source last read it.
type Sensor struct {
	Name      string // the sensor's title, e.g. "coretemp temp1 (Package id 0)"
	Subsystem string // VMWARE-ENV-MIB's SubsystemType name: temperatureSensor, fan, voltage, powerSupply, battery
	Status    string // vmwHardwareStatus: normal, marginal, critical, failed or unknown
	Reading   string // the last value read with its unit ("45.0 C"), or why it is failed
}

// SensorReporter is a source that knows the host's sensors.
type SensorReporter interface {
	// Sensors lists the sensors as last read, by name; nil before the
	// first poll. Safe from any goroutine.
	Sensors() []Sensor
}

// Inner is the value behind src that may report state: a Runner's Poller,
// or src itself.
func Inner(src Source) any {
	if r, ok := src.(*Runner); ok {
		return r.Poller
	}
	return src
}
