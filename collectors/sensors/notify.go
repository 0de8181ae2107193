package sensors

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"hostagent/mibs"
)

// maxDescription is the size of vmwEventDescription, a DisplayString.
const maxDescription = 255

// send notifies one change of status as the configured style asks. The env
// notification goes out for every change; an IPMI one only when the sensor
// has a pair and leaves or returns to normal (marginal to critical is no
// new SEL assertion in that scheme). Both notifications of one change share
// one event index, the row of the event table they describe.
func (s *Sensors) send(p *pass, tr *tracked, from, to status, detail string) {
	var sel *mibs.NotificationType
	if s.ipmi && tr.ipmi != nil {
		switch {
		case from == statusNormal && to != statusNormal:
			sel = tr.ipmi.raised
		case from != statusNormal && to == statusNormal:
			sel = tr.ipmi.cleared
		}
	}
	text := describe(tr.title, detail, to)
	tr.desc, tr.when = text, p.time()
	if !s.env && sel == nil {
		return // its row shows the change at its index
	}
	index := s.nextEvent()
	if tr.row == 0 {
		s.rowsChange = s.now() // a row added
	}
	tr.row = index // the row polls find at the index the notification carries
	desc := mibs.String(text).At(index)
	when := mibs.Bytes(mibs.DateAndTime(p.time())).At(index)
	if s.env {
		n, err := mibs.VmwESXEnvHardwareEvent.New(
			mibs.Int(int64(tr.subsystem)).At(index),
			mibs.Int(int64(to)).At(index),
			desc, when)
		s.deliver(p, tr, n, err)
	}
	if sel != nil {
		n, err := sel.New(mibs.Int(tr.number).At(index), when, desc)
		s.deliver(p, tr, n, err)
	}
}

// nextEvent returns the next event index: 1, 2, ... and back to 1 after
// 65535, vmwEnvIndex's largest value, skipping the indexes of vmwEnvTable's
// rows (a sensor quiet for 65535 events keeps its row).
func (s *Sensors) nextEvent() uint32 {
	inUse := make(map[uint32]bool, len(s.tracked))
	for _, tr := range s.tracked {
		inUse[tr.row] = true
	}
	for range maxEventIndex + 1 {
		if s.lastEvent >= maxEventIndex {
			s.lastEvent = 0
		}
		s.lastEvent++
		if !inUse[uint32(s.lastEvent)] {
			break
		}
	}
	return uint32(s.lastEvent)
}

// maxEventIndex is vmwEnvIndex's largest value (VMWARE-ENV-MIB).
const maxEventIndex = 65535

func (s *Sensors) deliver(p *pass, tr *tracked, n mibs.Notification, err error) {
	if err == nil {
		err = p.out.Notify(p.ctx, n)
	}
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("notify %s of %s: %w", n.Type.Name, tr.title, err))
	}
}

// describe is the vmwEventDescription of a change: "coretemp temp1 Package
// id 0: 97.0 C, critical limit 95.0 C - critical", cut to fit 255 octets
// with the status kept. ASCII " - " rather than a dash: DisplayString is
// ASCII, and receivers print the octets as they come.
func describe(title, detail string, st status) string {
	head, tail := title+": "+detail, " - "+st.String()
	if len(head)+len(tail) > maxDescription {
		head = truncate(head, maxDescription-len(tail)-len("...")) + "..."
	}
	return head + tail
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// describeReading says what an hwmon reading shows: the value, and the
// limit or alarm that decided the status.
func describeReading(k kind, r reading, v verdict) string {
	if v.status == statusFailed {
		return r.failure
	}
	text := formatValue(k, r.value)
	switch {
	case v.crossed:
		text += ", " + limitNames[v.limit] + " " + formatValue(k, r.limits[v.limit])
	case v.alarmed:
		text += ", chip alarm " + alarmFiles[v.alarm]
	}
	return text
}

// formatValue shows a value in sysfs units in the kind's unit: 97000 as
// "97.0 C".
func formatValue(k kind, v int64) string {
	info := kinds[k]
	return strconv.FormatFloat(float64(v)/info.scale, 'f', info.decimals, 64) + " " + info.unit
}
