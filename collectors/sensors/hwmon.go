package sensors

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// chip is one hwmon device as its directory listed it. It is rebuilt only
// when the listing, the link or the name changes, so that a poll with no
// change does not rebuild hundreds of paths.
type chip struct {
	attrDir string   // where the attributes are: the hwmonN directory or, for old drivers, its device/
	target  string   // the link target of hwmonN ("" for a plain directory)
	name    string   // the name attribute: the driver
	listing []string // the attribute names the sensors were built from
	sensors []hwmonSensor
	seen    uint64 // the last poll that listed it
}

// hwmonSensor is one sensor of a chip with the paths of its attributes; ""
// for an attribute the chip does not have.
type hwmonSensor struct {
	key    string // stable identity for the state (see chipIdentity)
	title  string // "coretemp temp1 Package id 0", the start of every description
	kind   kind
	ipmi   *ipmiPair
	input  string
	enable string
	fault  string
	limits [numLimits]string
	alarms [numAlarms]string
}

// chipIdentity is the part of a sensor key that names its chip. hwmonN
// numbers are handed out in probe order and change when a driver is
// reloaded, so a linked chip is known by its device path (the link target
// without its trailing hwmon/hwmonN) and its name; a plain directory (old
// kernels, test trees) by its entry name.
func chipIdentity(entry, target, name string) string {
	dev := entry
	if target != "" {
		dev = target
		if parent := filepath.Dir(target); filepath.Base(parent) == "hwmon" {
			dev = filepath.Dir(parent)
		}
		dev = strings.TrimLeft(dev, "./")
	}
	return dev + "/" + name
}

// loadChip lists the chip at dir and builds its sensors, reusing old when
// nothing changed. ok is false when dir is no hwmon chip (or vanished).
func (s *Sensors) loadChip(entry, dir string, old *chip) (c *chip, ok bool, err error) {
	target, _ := os.Readlink(dir) // EINVAL for a plain directory: keyed by entry
	attrDir := dir
	name, err := s.reader.readWord(filepath.Join(dir, "name"))
	if isGone(err) {
		// Drivers of the old interface keep their attributes, name
		// included, on the parent device.
		attrDir = filepath.Join(dir, "device")
		name, err = s.reader.readWord(filepath.Join(attrDir, "name"))
	}
	if isGone(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	listing, err := listDir(attrDir)
	if err != nil {
		return nil, false, err
	}
	slices.Sort(listing)
	if old != nil && old.attrDir == attrDir && old.target == target && old.name == name && slices.Equal(old.listing, listing) {
		return old, true, nil
	}
	c = &chip{attrDir: attrDir, target: target, name: name, listing: listing}
	c.sensors = s.buildSensors(chipIdentity(entry, target, name), c)
	return c, true, nil
}

// buildSensors groups the chip's attributes by sensor (temp1_input,
// temp1_max, ... into temp1) in a stable order: by kind, then number.
func (s *Sensors) buildSensors(identity string, c *chip) []hwmonSensor {
	type sensorID struct {
		kind   kind
		number int
	}
	byID := map[sensorID]*hwmonSensor{}
	averages := map[sensorID]string{}
	for _, file := range c.listing {
		k, number, attr, ok := parseAttribute(file)
		if !ok {
			continue
		}
		id := sensorID{k, number}
		sn := byID[id]
		if sn == nil {
			sn = &hwmonSensor{kind: k}
			byID[id] = sn
		}
		path := filepath.Join(c.attrDir, file)
		switch attr {
		case "input":
			sn.input = path
		case "average":
			averages[id] = path
		case "enable":
			sn.enable = path
		case "fault":
			sn.fault = path
		default:
			if i := slices.Index(limitFiles[:], attr); i >= 0 {
				sn.limits[i] = path
			} else if i := slices.Index(alarmFiles[:], attr); i >= 0 {
				sn.alarms[i] = path
			}
		}
	}
	ids := make([]sensorID, 0, len(byID))
	for id, sn := range byID {
		if sn.input == "" && id.kind == kindPower {
			// Power meters that only average (amdgpu, ACPI power meters).
			sn.input = averages[id]
		}
		if sn.input != "" { // a sensor without a value is no sensor (fan1_div alone, ...)
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b sensorID) int {
		if a.kind != b.kind {
			return int(a.kind) - int(b.kind)
		}
		return a.number - b.number
	})
	sensors := make([]hwmonSensor, len(ids))
	for i, id := range ids {
		sn := byID[id]
		name := kinds[id.kind].prefix + strconv.Itoa(id.number)
		sn.key = identity + "/" + name
		sn.title = c.name + " " + name
		if label := s.readLabel(filepath.Join(c.attrDir, name+"_label")); label != "" {
			sn.title += " " + label
		}
		sn.ipmi = ipmiForHwmon(c.name, id.kind)
		sensors[i] = *sn
	}
	return sensors
}

// parseAttribute splits "temp1_crit_alarm" into kind temp, number 1 and
// attribute "crit_alarm". Other files (name, pwm1, intrusion0_alarm, uevent)
// are not sensor attributes.
func parseAttribute(file string) (k kind, number int, attr string, ok bool) {
	for k = 0; k < numKinds; k++ {
		rest, found := strings.CutPrefix(file, kinds[k].prefix)
		if !found {
			continue
		}
		digits := 0
		for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
			number = number*10 + int(rest[digits]-'0')
			digits++
		}
		if digits == 0 || digits > 4 || digits == len(rest) || rest[digits] != '_' {
			return 0, 0, "", false
		}
		return k, number, rest[digits+1:], true
	}
	return 0, 0, "", false
}

// readLabel reads a sensor's label, made safe for a DisplayString; "" if
// there is none.
func (s *Sensors) readLabel(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(string(b)))
}

// readHwmon reads one sensor. gone says its input no longer exists or the
// sensor is disabled: it is then treated as removed.
func (s *Sensors) readHwmon(sn *hwmonSensor) (r reading, gone bool) {
	if sn.enable != "" {
		if v, err := s.reader.readInt(sn.enable); err == nil && v == 0 {
			return r, true
		}
	}
	if sn.fault != "" {
		v, err := s.reader.readInt(sn.fault)
		switch {
		case isGarbage(err):
			r.failure = err.Error()
			return r, false
		case err == nil && v != 0:
			r.failure = "fault"
			return r, false
		}
	}
	v, err := s.reader.readInt(sn.input)
	switch {
	case isGone(err):
		return r, true
	case isGarbage(err):
		r.failure = err.Error()
		return r, false
	case err != nil:
		r.failure = filepath.Base(sn.input) + " unreadable: " + unwrapPath(err).Error()
		return r, false
	}
	r.value = v
	for l := limit(0); l < numLimits; l++ {
		if sn.limits[l] == "" {
			continue
		}
		v, err := s.reader.readInt(sn.limits[l])
		if isGarbage(err) {
			r.failure = err.Error()
			return r, false
		}
		// A limit the driver cannot read (ENODATA for an unset one) is
		// no limit.
		r.limits[l], r.has[l] = v, err == nil
	}
	for a := alarm(0); a < numAlarms; a++ {
		if sn.alarms[a] == "" {
			continue
		}
		v, err := s.reader.readInt(sn.alarms[a])
		if isGarbage(err) {
			r.failure = err.Error()
			return r, false
		}
		r.alarms[a] = err == nil && v != 0
	}
	return r, false
}
