package sensors

import (
	"fmt"
	"path/filepath"
	"strings"
)

// supplyReading is what one poll read of a power_supply device; "" for an
// attribute it does not have.
type supplyReading struct {
	typ           string // Mains, UPS, Battery, USB, Wireless
	online        string // "0", "1" or "2" (2: online, programmable USB)
	status        string // Charging, Discharging, Not charging, Full, Unknown
	health        string
	capacityLevel string // Full, High, Normal, Low, Critical, Unknown
	failure       string // why the supply is failed (a garbled attribute); "" if not
}

// supplyHealth maps the kernel's health words (POWER_SUPPLY_HEALTH_*) to a
// status. "Unknown" is absent on purpose: it is no information and leaves
// the status to the other attributes.
var supplyHealth = map[string]status{
	"Good":                  statusNormal,
	"Warm":                  statusMarginal,
	"Cool":                  statusMarginal,
	"Calibration required":  statusMarginal,
	"Overheat":              statusCritical,
	"Hot":                   statusCritical,
	"Cold":                  statusCritical,
	"Over voltage":          statusCritical,
	"Over current":          statusCritical,
	"Watchdog timer expire": statusCritical,
	"Safety timer expire":   statusCritical,
	"Dead":                  statusFailed,
	"Unspecified failure":   statusFailed,
	"No battery":            statusFailed,
}

// isBattery says the supply is reported as vmwSubsystemType battery, with
// no IPMI pair (the SEL's power supply events are about PSUs).
func isBattery(typ string) bool { return typ == "Battery" }

// judgeSupply decides a supply's status from all its attributes, the worst
// of them winning; a supply whose only word is health Unknown is unknown.
// problem names a word it did not recognise, for the debug log.
//
//   - A Mains or UPS supply that is offline is critical: the host runs
//     (on another supply or a battery), so the unit is not known to have
//     failed, but input power or redundancy is lost, as IPMI's "AC lost". Failed is
//     kept for the health words that say the unit itself is broken. For
//     USB and other supplies offline only means nothing is plugged in.
//   - A battery that is discharging is marginal: the host runs on it.
//   - capacity_level Low is marginal, Critical critical.
func judgeSupply(r supplyReading) (st status, detail, problem string) {
	if r.failure != "" {
		return statusFailed, r.failure, r.failure
	}
	st = statusUnknown
	var parts []string
	worsen := func(s status, part string) {
		if st == statusUnknown || s > st {
			st = s
		}
		parts = append(parts, part)
	}
	if r.online != "" && (r.typ == "Mains" || r.typ == "UPS") {
		if r.online == "0" {
			worsen(statusCritical, "offline")
		} else {
			worsen(statusNormal, "online")
		}
	}
	if r.status != "" && r.status != "Unknown" && (isBattery(r.typ) || r.typ == "UPS") {
		if r.status == "Discharging" {
			worsen(statusMarginal, "discharging")
		} else {
			worsen(statusNormal, strings.ToLower(r.status))
		}
	}
	if r.health != "" && r.health != "Unknown" {
		if s, ok := supplyHealth[r.health]; ok {
			worsen(s, "health "+r.health)
		} else {
			problem = fmt.Sprintf("health %q not recognised: ignored", r.health)
		}
	}
	switch r.capacityLevel {
	case "Critical":
		worsen(statusCritical, "capacity critical")
	case "Low":
		worsen(statusMarginal, "capacity low")
	}
	switch {
	case len(parts) > 0:
	case r.health == "Unknown":
		return statusUnknown, "health Unknown", problem
	default:
		// Nothing to judge (a USB port's supply has only online): such a
		// supply can never change, and unknown would be noise at every start.
		return statusNormal, "no status reported", problem
	}
	return st, strings.Join(parts, ", "), problem
}

// readSupply reads the attributes of the supply in dir. skip says it is not
// watched: it powers a peripheral (scope Device: a mouse or headset
// battery), not the host. gone says it vanished between listing and reading.
func (s *Sensors) readSupply(dir string) (r supplyReading, skip, gone bool) {
	word := func(attr string) string {
		v, err := s.reader.readWord(filepath.Join(dir, attr))
		if err != nil {
			return ""
		}
		return v
	}
	typ, err := s.reader.readWord(filepath.Join(dir, "type"))
	if err != nil {
		return r, false, true
	}
	if word("scope") == "Device" {
		return r, true, false
	}
	r.typ = typ
	if v, err := s.reader.readInt(filepath.Join(dir, "online")); err == nil {
		r.online = "1"
		if v == 0 {
			r.online = "0"
		}
	} else if isGarbage(err) {
		r.failure = err.Error()
	}
	r.status = word("status")
	r.health = word("health")
	r.capacityLevel = word("capacity_level")
	return r, false, false
}
