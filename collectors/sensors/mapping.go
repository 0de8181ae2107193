package sensors

import (
	"strings"

	"hostagent/mibs"
)

// subsystem is vmwSubsystemType (VMWARE-ENV-MIB).
type subsystem int64

const (
	subsystemPowerSupply subsystem = 3
	subsystemFan         subsystem = 4
	subsystemBattery     subsystem = 7
	subsystemTemperature subsystem = 8
	subsystemVoltage     subsystem = 10
)

// String is the subsystem's name in VMWARE-ENV-MIB's SubsystemType.
func (s subsystem) String() string {
	switch s {
	case subsystemPowerSupply:
		return "powerSupply"
	case subsystemFan:
		return "fan"
	case subsystemBattery:
		return "battery"
	case subsystemTemperature:
		return "temperatureSensor"
	case subsystemVoltage:
		return "voltage"
	}
	return "unknown"
}

// kind is a class of hwmon sensor, named by its attribute prefix.
type kind uint8

const (
	kindTemp kind = iota
	kindFan
	kindVoltage
	kindCurrent
	kindPower
	numKinds
)

// kindInfo is how a kind of sensor is named, shown and reported.
//
// Current and power sensors are reported as powerSupply: VMWARE-ENV-MIB has
// no subsystem for them, and they measure power delivery (a PSU, a VRM, a
// board's input), which is where ESXi's hardware status files them too.
type kindInfo struct {
	prefix    string  // attribute prefix in sysfs
	unit      string  // unit in descriptions
	scale     float64 // sysfs units per unit shown
	decimals  int
	subsystem subsystem
}

var kinds = [numKinds]kindInfo{
	kindTemp:    {"temp", "C", 1000, 1, subsystemTemperature},       // millidegree Celsius
	kindFan:     {"fan", "RPM", 1, 0, subsystemFan},                 // revolutions per minute
	kindVoltage: {"in", "V", 1000, 3, subsystemVoltage},             // millivolt
	kindCurrent: {"curr", "A", 1000, 3, subsystemPowerSupply},       // milliampere
	kindPower:   {"power", "W", 1_000_000, 1, subsystemPowerSupply}, // microwatt
}

// hysteresisFor converts the configured margins to each kind's sysfs units.
func hysteresisFor(h Hysteresis) [numKinds]hysteresis {
	return [numKinds]hysteresis{
		kindTemp:    {absolute: int64(h.Temperature * 1000)},
		kindFan:     {percent: h.Fan},
		kindVoltage: {percent: h.Voltage},
		kindCurrent: {percent: h.Current},
		kindPower:   {percent: h.Power},
	}
}

// ipmiPair is a raised/cleared pair of IPMI SEL notifications.
type ipmiPair struct {
	raised, cleared *mibs.NotificationType
}

var (
	ipmiFan         = &ipmiPair{mibs.VmwEnvIpmiSelFanRaised, mibs.VmwEnvIpmiSelFanCleared}
	ipmiCPU         = &ipmiPair{mibs.VmwEnvIpmiSelCpuRaised, mibs.VmwEnvIpmiSelCpuCleared}
	ipmiMemory      = &ipmiPair{mibs.VmwEnvIpmiSelMemoryRaised, mibs.VmwEnvIpmiSelMemoryCleared}
	ipmiPowerSupply = &ipmiPair{mibs.VmwEnvIpmiSelPowerSupplyRaised, mibs.VmwEnvIpmiSelPowerSupplyCleared}
)

// cpuChips are the hwmon drivers of processors' own thermal sensors.
var cpuChips = map[string]bool{"coretemp": true, "k10temp": true, "zenpower": true, "cpu_thermal": true}

// isMemoryChip says the chip is a DIMM's thermal sensor: jc42 (DDR4),
// spd5118 (DDR5) or any driver that calls itself after DIMMs.
func isMemoryChip(chip string) bool {
	return chip == "jc42" || chip == "spd5118" || strings.Contains(strings.ToLower(chip), "dimm")
}

// ipmiForHwmon is the IPMI pair of an hwmon sensor, nil when the SEL has no
// sensor type for it: every fan is a fan, a processor's or DIMM's
// temperature is the processor or memory. Voltages, currents, power and
// other temperatures have no pair and are sent as vmwESXEnvHardwareEvent only.
func ipmiForHwmon(chip string, k kind) *ipmiPair {
	switch {
	case k == kindFan:
		return ipmiFan
	case isMemoryChip(chip):
		return ipmiMemory
	case k == kindTemp && cpuChips[chip]:
		return ipmiCPU
	}
	return nil
}
