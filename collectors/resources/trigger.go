package resources

// edge is what one sample did to a trigger.
type edge uint8

const (
	noEdge  edge = iota
	rising       // crossed up to or past the rising threshold while armed
	falling      // crossed down to or past the falling threshold while armed
)

func (e edge) String() string {
	switch e {
	case rising:
		return "rising"
	case falling:
		return "falling"
	}
	return "none"
}

// threshold is a rule's pair of thresholds, rising > falling.
type threshold struct {
	rising, falling float64
}

// trigger is the hysteresis of one instance (one file system, the memory,
// the CPUs), as an RMON alarm (RFC 2819 alarmTable) or a DISMAN-EVENT-MIB
// threshold trigger: one notification per crossing, never one per sample.
//
// Rising starts armed and falling disarmed, as RMON's alarmStartupAlarm
// risingAlarm(1): a first sample at or above rising notifies, while a host
// that starts healthy (even below falling) says nothing. After a rising
// notification only a sample at or below falling re-arms rising, so values
// oscillating between the two thresholds send nothing.
//
// The zero value is the startup state.
type trigger struct {
	fallingArmed bool // and so rising disarmed
}

// observe feeds one sample and reports the edge to notify, if any.
func (t *trigger) observe(th threshold, v float64) edge {
	switch {
	case !t.fallingArmed && v >= th.rising:
		t.fallingArmed = true
		return rising
	case t.fallingArmed && v <= th.falling:
		t.fallingArmed = false
		return falling
	}
	return noEdge
}
