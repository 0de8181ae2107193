package sensors

import "math"

// status is vmwHardwareStatus (VMWARE-ENV-MIB).
type status int64

const (
	statusUnknown  status = 1
	statusNormal   status = 2
	statusMarginal status = 3
	statusCritical status = 4
	statusFailed   status = 5
)

func (s status) String() string {
	switch s {
	case statusUnknown:
		return "unknown"
	case statusNormal:
		return "normal"
	case statusMarginal:
		return "marginal"
	case statusCritical:
		return "critical"
	case statusFailed:
		return "failed"
	}
	return "invalid"
}

// limit is one of the thresholds hwmon publishes for a sensor.
type limit uint8

const (
	limitLowCrit limit = iota
	limitLow
	limitHigh
	limitHighCrit
	numLimits
)

var (
	limitFiles = [numLimits]string{"lcrit", "min", "max", "crit"}
	limitNames = [numLimits]string{"low critical limit", "low limit", "high limit", "critical limit"}
)

func (l limit) upper() bool    { return l == limitHigh || l == limitHighCrit }
func (l limit) critical() bool { return l == limitLowCrit || l == limitHighCrit }

// alarm is one of the alarm flags a chip raises itself.
type alarm uint8

const (
	alarmAny alarm = iota
	alarmLow
	alarmHigh
	alarmLowCrit
	alarmCrit
	alarmEmergency
	numAlarms
)

var alarmFiles = [numAlarms]string{"alarm", "min_alarm", "max_alarm", "lcrit_alarm", "crit_alarm", "emergency_alarm"}

func (a alarm) critical() bool { return a >= alarmLowCrit }

// reading is what one poll read of an hwmon sensor, in sysfs units.
type reading struct {
	value   int64
	limits  [numLimits]int64
	has     [numLimits]bool
	alarms  [numAlarms]bool
	failure string // why the sensor is failed (fault flag, unreadable or garbled file); "" if it is not
}

// hysteresis is the margin for one kind of sensor: an absolute amount in
// sysfs units (temperature) or a percentage of the limit (the others).
type hysteresis struct {
	absolute int64
	percent  float64
}

func (h hysteresis) of(lim int64) int64 {
	if h.percent == 0 {
		return h.absolute
	}
	return int64(math.Round(math.Abs(float64(lim)) * h.percent / 100))
}

// verdict is a status and what caused it, for the description.
type verdict struct {
	status  status
	crossed bool  // a limit caused it
	limit   limit // the limit, when crossed
	alarmed bool  // an alarm flag caused it
	alarm   alarm // the flag, when alarmed
}

// judge decides the status of a reading given the status the sensor had.
//
// A sensor that is marginal or critical stays so until its value is inside
// the limit by the hysteresis margin; a sensor that was failed or unknown is
// judged afresh, as nothing about its value was known. Limits are tested
// before alarm flags so that the description can name the value and limit.
func judge(r reading, prev status, h hysteresis) verdict {
	if r.failure != "" {
		return verdict{status: statusFailed}
	}
	holdCritical := prev == statusCritical
	holdMarginal := prev == statusMarginal || prev == statusCritical
	for _, l := range [...]limit{limitHighCrit, limitLowCrit} {
		if beyond(r, l, holdCritical, h) {
			return verdict{status: statusCritical, crossed: true, limit: l}
		}
	}
	for a := alarm(0); a < numAlarms; a++ {
		if r.alarms[a] && a.critical() {
			return verdict{status: statusCritical, alarmed: true, alarm: a}
		}
	}
	for _, l := range [...]limit{limitHigh, limitLow} {
		if beyond(r, l, holdMarginal, h) {
			return verdict{status: statusMarginal, crossed: true, limit: l}
		}
	}
	for a := alarm(0); a < numAlarms; a++ {
		if r.alarms[a] {
			return verdict{status: statusMarginal, alarmed: true, alarm: a}
		}
	}
	return verdict{status: statusNormal}
}

// beyond says the value is outside limit l; with hold, the limit is moved
// inwards by the hysteresis margin.
//
// An upper limit of 0 counts as unset: chips report 0 for limits nobody
// programmed (in0_max on many Super-I/O chips), and no temperature, fan,
// voltage, current or power we watch has a real upper limit of exactly 0.
func beyond(r reading, l limit, hold bool, h hysteresis) bool {
	if !r.has[l] {
		return false
	}
	lim := r.limits[l]
	var margin int64
	if hold {
		margin = h.of(lim)
	}
	if l.upper() {
		return lim != 0 && r.value > lim-margin
	}
	return r.value < lim+margin
}
