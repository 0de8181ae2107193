package audit

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Bounds on what a client can make the log hold. A refused request costs
// the client nothing, so it must cost the log next to nothing either: user
// names, paths and sources are cut, and refusals are counted, not written
// one by one.
const (
	maxName   = 64   // user, source, setting
	maxAction = 256  // action: may carry a request's path
	maxDetail = 4096 // detail: error messages quote what was refused
)

// BurstWindow is how long refusals are counted before their entry is
// written: at most one entry per action, result and detail per window,
// however many requests were refused.
const BurstWindow = 10 * time.Second

// maxSamples is how many distinct users and sources a burst's entry names.
const maxSamples = 5

// maxSample is how much of each sampled user name is kept.
const maxSample = 32

// Cut returns s cut to at most n bytes (at a rune boundary), with the
// number of bytes dropped, so that the entry still says something was
// there.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return fmt.Sprintf("%s…(+%d bytes)", s[:i], len(s)-i)
}

// bound cuts the fields a client chooses. Old and New are left whole: they
// are settings an authenticated user changed, already bounded by the
// request body limit.
func bound(e Entry) Entry {
	e.User = Cut(e.User, maxName)
	e.Source = Cut(e.Source, maxName)
	e.Setting = Cut(e.Setting, maxName)
	e.Action = Cut(e.Action, maxAction)
	e.Detail = Cut(e.Detail, maxDetail)
	return e
}

// burstKey groups refusals: the source and user vary in a flood, the rest
// is one of a few fixed values.
type burstKey struct{ action, result, detail string }

type burst struct {
	count       int
	first, last time.Time
	users       []string // distinct, first maxSamples
	sources     []string // distinct hosts, first maxSamples
	moreUsers   int      // refusals whose user was not sampled
	moreSources int      // refusals whose source was not sampled
}

// maxBursts bounds the open bursts; details are fixed strings in practice,
// but the key is the caller's, so a full map folds new keys into one.
const maxBursts = 64

// refusals accumulates Refuse calls until the window's timer flushes them.
type refusals struct {
	mu     sync.Mutex
	bursts map[burstKey]*burst
	timer  *time.Timer
}

// Refuse counts a refused attempt (a login the limiter or the busy gate
// refused, a request without a valid session) instead of writing it: one
// entry per action, result and detail is written per BurstWindow, giving the
// count, the first and last time and a few of the users and sources, e.g.
//
//	user=(various) source=(various) action=login result=denied detail="rate limited: 120 attempts refused from 2026-12-02T10:01:02Z to 2026-12-02T10:01:05Z; users aaaa…(+1048512 bytes),alice (+118 more attempts); sources 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6 (+60 more attempts)"
//
// A flood therefore costs the log a few hundred bytes per window.
func (l *Log) Refuse(e Entry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e = bound(e)
	e.User = Cut(e.User, maxSample)
	host := e.Source
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	r := &l.refused
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bursts == nil {
		r.bursts = map[burstKey]*burst{}
	}
	k := burstKey{e.Action, e.Result, e.Detail}
	b := r.bursts[k]
	if b == nil {
		if len(r.bursts) >= maxBursts {
			k = burstKey{"(various)", e.Result, "(various)"}
			b = r.bursts[k]
		}
		if b == nil {
			b = &burst{first: e.Time}
			r.bursts[k] = b
		}
	}
	b.count++
	b.last = e.Time
	b.users, b.moreUsers = sample(b.users, e.User, b.moreUsers)
	b.sources, b.moreSources = sample(b.sources, host, b.moreSources)
	if r.timer == nil {
		r.timer = time.AfterFunc(l.burstWindow, func() { _ = l.FlushRefused() })
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sample(list []string, s string, more int) ([]string, int) {
	switch {
	case contains(list, s):
	case len(list) < maxSamples:
		list = append(list, s)
	default:
		more++
	}
	return list, more
}

// FlushRefused writes the refusals counted so far, one entry per burst;
// Close calls it.
func (l *Log) FlushRefused() error {
	r := &l.refused
	r.mu.Lock()
	bursts := r.bursts
	r.bursts = nil
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.mu.Unlock()
	var errs []error
	for k, b := range bursts {
		e := Entry{
			Time:   b.last,
			User:   one(b.users, b.moreUsers),
			Source: one(b.sources, b.moreSources),
			Action: k.action,
			Result: k.result,
			Detail: k.detail,
		}
		if b.count > 1 {
			e.Detail = fmt.Sprintf("%s: %d attempts refused from %s to %s", k.detail, b.count,
				b.first.Format(time.RFC3339), b.last.Format(time.RFC3339))
			if e.User != "" { // not requests without a session
				e.Detail += "; users " + list(b.users, b.moreUsers, "more attempts")
			}
			e.Detail += "; sources " + list(b.sources, b.moreSources, "more attempts")
		}
		if err := l.Record(e); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// one is the entry's user or source: the only one, or "(various)".
func one(items []string, more int) string {
	if len(items) == 1 && more == 0 {
		return items[0]
	}
	return "(various)"
}

func list(items []string, more int, what string) string {
	s := strings.Join(items, ",")
	if more > 0 {
		s += fmt.Sprintf(" (+%d %s)", more, what)
	}
	return s
}
