// Package sensors watches hardware sensors (hwmon chips and power supplies in sysfs) and notifies each change of status as VMware's hardware notifications.
//
// What is notified follows one rule: a receiver assumes every sensor it has
// not heard about is normal, so the collector notifies whenever that
// picture would otherwise be wrong. The first poll reports only the sensors
// that are not normal (a host that boots with a failed fan is reported); a
// sensor that appears later is reported only when it is not normal; every
// later change of status is reported, back to normal included; a sensor
// that disappears is reported once as unknown, and again (as a change from
// unknown) if it comes back.
package sensors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"hostagent/collectors"
)

// Sensors is the collector of hardware sensors; it implements
// collectors.Poller.
type Sensors struct {
	paths collectors.Paths
	log   *slog.Logger
	env   bool // send vmwESXEnvHardwareEvent
	ipmi  bool // send the IPMI SEL raised/cleared pairs
	hys   [numKinds]hysteresis
	now   func() time.Time // the clock of vmwEnvHardwareTime; tests set it

	mu         sync.Mutex
	reader     fileReader
	chips      map[string]*chip    // by hwmonN entry
	tracked    map[string]*tracked // by sensor key; removed sensors stay, as unknown
	generation uint64              // the number of the current poll
	discovered int64               // sensors seen so far: the next sensor number
	lastEvent  int64               // the last event index taken

	// vmwEnvTable for polls (table.go): one row per sensor, at the index
	// of its last event.
	publisher  collectors.Publisher
	started    time.Time // the origin of vmwEnvLastChange's TimeTicks
	rowsChange time.Time // when a row was last added (or removed)

	// current is every tracked sensor as of the last complete poll, for
	// Sensors (any goroutine): replaced whole, never changed in place.
	current atomic.Pointer[[]collectors.Sensor]
}

var (
	_ collectors.Poller         = (*Sensors)(nil)
	_ collectors.SensorReporter = (*Sensors)(nil)
)

// tracked is what the collector remembers of one sensor between polls.
type tracked struct {
	number    int64     // vmwEnvSelSensorNumber: order of discovery, mod 256
	status    status    // as last notified (or assumed: normal)
	row       uint32    // vmwEnvIndex of its vmwEnvTable row, its last event's (0: no event yet, no row)
	desc      string    // vmwEventDescription of that event
	when      time.Time // vmwEnvHardwareTime of that event
	seen      uint64    // the last poll that saw it
	gone      bool      // reported removed
	source    source
	title     string
	subsystem subsystem
	ipmi      *ipmiPair
	problem   string // the last failure logged, so that each is logged once
	reading   string // the last value read, with its unit, or why it failed (for the API)
}

// source is the sysfs class a sensor comes from.
type source uint8

const (
	sourceHwmon source = iota + 1
	sourceSupply
)

// New returns the collector for cfg, which Validate has accepted. A nil log
// discards.
func New(cfg Config, paths collectors.Paths, log *slog.Logger) *Sensors {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sensors{
		paths:     paths,
		log:       log,
		env:       cfg.Style != StyleIPMI,
		ipmi:      cfg.Style != StyleEnv,
		hys:       hysteresisFor(cfg.Hysteresis),
		now:       time.Now,
		chips:     map[string]*chip{},
		tracked:   map[string]*tracked{},
		publisher: collectors.Discard,
		started:   time.Now(),
	}
}

// pass is the state of one poll.
type pass struct {
	ctx   context.Context
	out   collectors.Notifier
	gen   uint64
	found int // sensors seen
	errs  []error
	when  time.Time // the time of this poll's events, read on first use
	now   func() time.Time
}

func (p *pass) time() time.Time {
	if p.when.IsZero() {
		p.when = p.now()
	}
	return p.when
}

// Poll reads every sensor and notifies each change of status. It returns
// collectors.ErrAbsent when the host has no sensor at all.
func (s *Sensors) Poll(ctx context.Context, out collectors.Notifier) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.generation++
	p := &pass{ctx: ctx, out: out, gen: s.generation, now: s.now}
	s.pollHwmon(p)
	s.pollSupplies(p)
	if err := ctx.Err(); err != nil {
		// Sensors not read are not gone: judge them next time.
		return err
	}
	s.reportRemoved(p)
	s.publish()
	s.snapshot()
	if p.found == 0 && len(p.errs) == 0 {
		return fmt.Errorf("no hwmon sensor or power supply under %s: %w", s.paths.Sys("class"), collectors.ErrAbsent)
	}
	return errors.Join(p.errs...)
}

// pollHwmon reads the chips of /sys/class/hwmon.
func (s *Sensors) pollHwmon(p *pass) {
	dir := s.paths.Sys("class", "hwmon")
	entries, err := listDir(dir)
	if isGone(err) {
		clear(s.chips)
		return
	}
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("hwmon: %w", err))
		s.keep(p, sourceHwmon)
		return
	}
	// hwmon2 before hwmon10, so that sensor numbers follow probe order.
	slices.SortFunc(entries, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b)) })
	for _, entry := range entries {
		if p.ctx.Err() != nil {
			return
		}
		old := s.chips[entry]
		c, ok, err := s.loadChip(entry, filepath.Join(dir, entry), old)
		switch {
		case err != nil:
			p.errs = append(p.errs, fmt.Errorf("hwmon chip %s: %w", entry, err))
			if old != nil {
				s.keepChip(p, old)
			}
			continue
		case !ok:
			delete(s.chips, entry)
			continue
		}
		s.chips[entry] = c
		c.seen = p.gen
		for i := range c.sensors {
			s.pollHwmonSensor(p, &c.sensors[i])
		}
	}
	for entry, c := range s.chips {
		if c.seen != p.gen {
			delete(s.chips, entry)
		}
	}
}

func (s *Sensors) pollHwmonSensor(p *pass, sn *hwmonSensor) {
	r, gone := s.readHwmon(sn)
	if gone {
		return // not seen: reported as removed
	}
	tr := s.track(p, sn.key, sourceHwmon, sn.title, kinds[sn.kind].subsystem, sn.ipmi)
	s.noteProblem(tr, r.failure)
	tr.reading = r.failure
	if r.failure == "" {
		tr.reading = formatValue(sn.kind, r.value)
	}
	v := judge(r, tr.status, s.hys[sn.kind])
	if v.status != tr.status {
		s.change(p, tr, v.status, describeReading(sn.kind, r, v))
	}
}

// pollSupplies reads the devices of /sys/class/power_supply.
func (s *Sensors) pollSupplies(p *pass) {
	dir := s.paths.Sys("class", "power_supply")
	names, err := listDir(dir)
	if isGone(err) {
		return
	}
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("power supplies: %w", err))
		s.keep(p, sourceSupply)
		return
	}
	slices.Sort(names)
	for _, name := range names {
		r, skip, gone := s.readSupply(filepath.Join(dir, name))
		if skip || gone {
			continue
		}
		st, detail, problem := judgeSupply(r)
		title, sub, pair := "power supply "+name+" ("+r.typ+")", subsystemPowerSupply, ipmiPowerSupply
		if isBattery(r.typ) {
			title, sub, pair = "battery "+name, subsystemBattery, nil
		}
		tr := s.track(p, "power_supply/"+name, sourceSupply, title, sub, pair)
		s.noteProblem(tr, problem)
		tr.reading = detail
		if st != tr.status {
			s.change(p, tr, st, detail)
		}
	}
}

// track returns the state of the sensor at key, creating it for a sensor
// seen for the first time, and marks it seen by this poll.
func (s *Sensors) track(p *pass, key string, src source, title string, sub subsystem, pair *ipmiPair) *tracked {
	tr := s.tracked[key]
	if tr == nil {
		// Assumed normal, as a receiver assumes of a sensor it never heard of.
		tr = &tracked{number: s.discovered % 256, status: statusNormal}
		s.discovered++
		s.tracked[key] = tr
	}
	tr.seen, tr.gone = p.gen, false
	tr.source, tr.title, tr.subsystem, tr.ipmi = src, title, sub, pair
	p.found++
	return tr
}

// keep marks every sensor of src seen, when its listing failed: a sensor
// that could not be looked at is not gone.
func (s *Sensors) keep(p *pass, src source) {
	for _, tr := range s.tracked {
		if tr.source == src && !tr.gone {
			tr.seen = p.gen
		}
	}
}

// keepChip marks the sensors of a chip that could not be listed seen.
func (s *Sensors) keepChip(p *pass, c *chip) {
	for i := range c.sensors {
		if tr := s.tracked[c.sensors[i].key]; tr != nil {
			tr.seen = p.gen
		}
	}
}

// reportRemoved reports once, as unknown, each sensor this poll did not
// see. Its state stays, so that its return is reported as a change; the
// sensors of one host are a bounded set, and a chip keeps its key when its
// driver is reloaded (see chipIdentity).
func (s *Sensors) reportRemoved(p *pass) {
	var removed []*tracked
	for _, tr := range s.tracked {
		if tr.seen != p.gen && !tr.gone {
			removed = append(removed, tr)
		}
	}
	slices.SortFunc(removed, func(a, b *tracked) int { return cmp.Compare(a.title, b.title) })
	for _, tr := range removed {
		tr.gone = true
		s.change(p, tr, statusUnknown, "removed")
	}
}

// noteProblem logs a sensor's failure at debug level once, not every poll.
func (s *Sensors) noteProblem(tr *tracked, problem string) {
	if problem == tr.problem {
		return
	}
	if problem != "" {
		s.log.Debug("sensor unreadable", "sensor", tr.title, "problem", problem)
	}
	tr.problem = problem
}

// change records a new status and notifies it.
func (s *Sensors) change(p *pass, tr *tracked, to status, detail string) {
	from := tr.status
	tr.status = to
	s.log.Info("sensor status changed", "sensor", tr.title, "from", from.String(), "to", to.String(), "detail", detail)
	s.send(p, tr, from, to, detail)
}

// snapshot stores every tracked sensor for Sensors; called with s.mu held,
// at the end of a poll.
func (s *Sensors) snapshot() {
	out := make([]collectors.Sensor, 0, len(s.tracked))
	for _, tr := range s.tracked {
		reading := tr.reading
		if tr.gone {
			reading = "removed"
		}
		out = append(out, collectors.Sensor{Name: tr.title, Subsystem: tr.subsystem.String(), Status: tr.status.String(), Reading: reading})
	}
	slices.SortFunc(out, func(a, b collectors.Sensor) int { return cmp.Compare(a.Name, b.Name) })
	s.current.Store(&out)
}

// Sensors implements collectors.SensorReporter: every sensor as of the
// last complete poll, removed ones as unknown.
func (s *Sensors) Sensors() []collectors.Sensor {
	if p := s.current.Load(); p != nil {
		return *p
	}
	return nil
}
