package daemon

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"hostagent/collectors"
	"hostagent/collectors/vms"
)

// WriteMetrics writes the daemon's counters in the Prometheus text format
// (version 0.0.4). It is written by hand: the format is a few lines, and
// the daemon keeps its counters already; a metrics library would add a
// registry and many packages to copy them into.
func (d *Daemon) WriteMetrics(w io.Writer) {
	m := metricWriter{w: w}
	m.help("hostagent_snmp_notifications_total", "counter", "Notifications per target and outcome.")
	m.help("hostagent_snmp_queue_length", "gauge", "Notifications waiting in each target's queue.")
	for _, s := range d.agent.Stats() {
		for outcome, n := range map[string]uint64{"sent": s.Sent, "acknowledged": s.Acknowledged, "failed": s.Failed, "dropped": s.Dropped} {
			m.sample("hostagent_snmp_notifications_total", n, "target", s.Target, "kind", s.Kind, "outcome", outcome)
		}
		m.sample("hostagent_snmp_queue_length", uint64(s.Queued), "target", s.Target)
	}
	m.help("hostagent_snmp_filtered_total", "counter", "Notifications not sent because notraps lists them.")
	m.sample("hostagent_snmp_filtered_total", d.agent.Filtered())

	m.help("hostagent_syslog_messages_sent_total", "counter", "Messages written (TCP, TLS) or sent (UDP) per loghost.")
	m.help("hostagent_syslog_dropped_total", "counter", "Socket messages dropped with the loghost's spool full.")
	m.help("hostagent_syslog_spool_bytes", "gauge", "Bytes of socket messages waiting in the loghost's spool.")
	m.help("hostagent_syslog_connected", "gauge", "1 when the loghost's connection is up.")
	if f := d.forwarder.Load(); f != nil {
		for _, s := range f.Status() {
			m.sample("hostagent_syslog_messages_sent_total", s.Sent, "loghost", s.Loghost)
			m.sample("hostagent_syslog_dropped_total", s.Dropped, "loghost", s.Loghost)
			m.sample("hostagent_syslog_spool_bytes", uint64(s.Queued), "loghost", s.Loghost)
			m.sample("hostagent_syslog_connected", boolValue(s.Connected), "loghost", s.Loghost)
		}
	}

	m.help("hostagent_collector_runs_total", "counter", "Polls (or, for vms, resyncs) per collector.")
	m.help("hostagent_collector_failures_total", "counter", "Polls that failed, per collector.")
	m.help("hostagent_collector_last_duration_seconds", "gauge", "Duration of each collector's last poll.")
	d.mu.Lock()
	var names []string
	runners := map[string]runner{}
	if d.collectors != nil {
		runners = d.collectors.runners
	}
	for name := range runners {
		names = append(names, name)
	}
	d.mu.Unlock()
	sort.Strings(names)
	for _, name := range names {
		switch r := runners[name].(type) {
		case *collectors.Runner:
			st := r.Stats()
			m.sample("hostagent_collector_runs_total", st.Runs, "collector", name)
			m.sample("hostagent_collector_failures_total", st.Failures, "collector", name)
			fmt.Fprintf(w, "hostagent_collector_last_duration_seconds{collector=%q} %g\n", name, st.LastDuration.Seconds())
		case *vms.VMs:
			m.sample("hostagent_collector_runs_total", r.Resyncs(), "collector", name)
		}
	}
}

type metricWriter struct{ w io.Writer }

func (m metricWriter) help(name, kind, text string) {
	fmt.Fprintf(m.w, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, kind)
}

// sample writes name{labels} value; labels come as name, value pairs.
func (m metricWriter) sample(name string, v uint64, labels ...string) {
	var b strings.Builder
	for i := 0; i+1 < len(labels); i += 2 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", labels[i], escapeLabel(labels[i+1]))
	}
	if b.Len() > 0 {
		fmt.Fprintf(m.w, "%s{%s} %d\n", name, b.String(), v)
	} else {
		fmt.Fprintf(m.w, "%s %d\n", name, v)
	}
}

// escapeLabel quotes a label value as the text format wants: backslash,
// double quote and line feed escaped.
func escapeLabel(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func boolValue(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
