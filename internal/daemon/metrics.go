package daemon

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/manage/auth"
	"hostagent/syslogd"
)

// The daemon's own metrics. Their names, labels and meanings are part of
// the interface (README.md, dashboards): keep them.
var (
	snmpNotificationsDesc = prometheus.NewDesc("hostagent_snmp_notifications_total",
		"Notifications per target and outcome.", []string{"target", "kind", "outcome"}, nil)
	snmpQueueDesc = prometheus.NewDesc("hostagent_snmp_queue_length",
		"Notifications waiting in each target's queue.", []string{"target"}, nil)
	snmpFilteredDesc = prometheus.NewDesc("hostagent_snmp_filtered_total",
		"Notifications not sent because notraps lists them.", nil, nil)
	syslogSentDesc = prometheus.NewDesc("hostagent_syslog_messages_sent_total",
		"Messages written (TCP, TLS) or sent (UDP) per loghost.", []string{"loghost"}, nil)
	syslogDroppedDesc = prometheus.NewDesc("hostagent_syslog_dropped_total",
		"Socket messages dropped with the loghost's spool full.", []string{"loghost"}, nil)
	syslogSpoolDesc = prometheus.NewDesc("hostagent_syslog_spool_bytes",
		"Bytes of socket messages waiting in the loghost's spool.", []string{"loghost"}, nil)
	syslogConnectedDesc = prometheus.NewDesc("hostagent_syslog_connected",
		"1 when the loghost's connection is up.", []string{"loghost"}, nil)
	syslogConfirmedDesc = prometheus.NewDesc("hostagent_syslog_messages_confirmed_total",
		"Messages with evidence of delivery per loghost: acknowledged (RELP, Kafka, NATS JetStream) or read by the collector's process (TCP, TLS).", []string{"loghost"}, nil)
	syslogUnconfirmedDesc = prometheus.NewDesc("hostagent_syslog_unconfirmed",
		"Messages written or published and not yet confirmed (in flight) per loghost.", []string{"loghost"}, nil)
	syslogFailedDesc = prometheus.NewDesc("hostagent_syslog_publish_failures_total",
		"Log bus records whose publication failed, each published again, per loghost.", []string{"loghost"}, nil)
	syslogAckLatencyDesc = prometheus.NewDesc("hostagent_syslog_ack_latency_seconds",
		"Time from a log bus record's publication to its acknowledgement, per loghost (sum and count).", []string{"loghost"}, nil)
	collectorRunsDesc = prometheus.NewDesc("hostagent_collector_runs_total",
		"Polls (or, for vms, resyncs) per collector.", []string{"collector"}, nil)
	collectorFailuresDesc = prometheus.NewDesc("hostagent_collector_failures_total",
		"Failed polls per collector (for vms: failed or lost connections to libvirtd).", []string{"collector"}, nil)
	collectorDurationDesc = prometheus.NewDesc("hostagent_collector_last_duration_seconds",
		"Duration of each collector's last poll (for vms: its last resync; 0 before the first).", []string{"collector"}, nil)
	pollingUpDesc = prometheus.NewDesc("hostagent_snmp_polling_up",
		"1 while polls are answered (snmpd runs, or the system's snmpd has the subagent); the mode and, when 0, why in a word (vicfg-snmp --show says it in full).", []string{"mode", "cause"}, nil)
	pollingRestartsDesc = prometheus.NewDesc("hostagent_snmpd_restarts_total",
		"Starts of the private snmpd after it died or failed to start.", nil, nil)
	pollingSubagentDesc = prometheus.NewDesc("hostagent_agentx_connected",
		"1 while the AgentX subagent's session with snmpd is open and registered.", nil, nil)
	pollingObjectsDesc = prometheus.NewDesc("hostagent_agentx_objects",
		"VMware MIB objects the subagent serves.", nil, nil)
)

// MetricsHandler implements apiserver.MetricsService: the daemon's
// counters, the process's and the Go runtime's, in the exposition format
// the scraper asks for.
func (d *Daemon) MetricsHandler() http.Handler { return d.metrics }

// newMetricsHandler serves the daemon's metrics, with the communities of
// target labels masked for whom the gate would not let set them: the
// console and Host.Config.SNMP holders see them, System.Read alone does
// not (as GET /api/v1/snmp).
func newMetricsHandler(d *Daemon, log *slog.Logger) http.Handler {
	full, masked := metricsRegistry(d, log, false), metricsRegistry(d, log, true)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !apiserver.PrincipalFrom(r.Context()).Console {
			if _, err := d.Admit(r, auth.HostConfigSNMP); err != nil {
				masked.ServeHTTP(w, r)
				return
			}
		}
		full.ServeHTTP(w, r)
	})
}

// metricsRegistry serves a registry of the daemon's own, not the
// global one, so that nothing a library registers as a side effect is
// exposed, and two daemons in one test binary do not collide.
func metricsRegistry(d *Daemon, log *slog.Logger, maskCommunities bool) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		daemonMetrics{d: d, mask: maskCommunities},
		promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}),
		promcollectors.NewGoCollector(),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.With("subsystem", "metrics").Handler(), slog.LevelWarn),
		// A bad series (a label that is not UTF-8) is logged and left
		// out; the rest is still served.
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// daemonMetrics reads the agent's, the forwarder's and the collectors'
// counters at each scrape and hands them over as constant metrics, as
// node_exporter does: the counters stay where they are kept.
type daemonMetrics struct {
	d    *Daemon
	mask bool // target labels without their community
}

func (daemonMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{
		snmpNotificationsDesc, snmpQueueDesc, snmpFilteredDesc,
		syslogSentDesc, syslogDroppedDesc, syslogSpoolDesc, syslogConnectedDesc,
		syslogConfirmedDesc, syslogUnconfirmedDesc, syslogFailedDesc, syslogAckLatencyDesc,
		collectorRunsDesc, collectorFailuresDesc, collectorDurationDesc,
		pollingUpDesc, pollingRestartsDesc, pollingSubagentDesc, pollingObjectsDesc,
	} {
		ch <- desc
	}
}

func (m daemonMetrics) Collect(ch chan<- prometheus.Metric) {
	// NewConstMetric rather than MustNewConstMetric: label values are
	// configuration (targets, loghosts), and one that Prometheus refuses
	// must cost its series, not the daemon.
	emit := func(desc *prometheus.Desc, kind prometheus.ValueType, v float64, labels ...string) {
		metric, err := prometheus.NewConstMetric(desc, kind, v, labels...)
		if err != nil {
			metric = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- metric
	}
	d := m.d
	seen := map[string]int{}
	for _, s := range d.agent.Stats() {
		if m.mask {
			// Two targets that differ only in their community would mask
			// to one label, and the registry would drop the second's
			// series: the repeats are numbered in the targets' order.
			s.Target = api.MaskTarget(s.Target)
			if seen[s.Target]++; seen[s.Target] > 1 {
				s.Target += fmt.Sprintf("#%d", seen[s.Target])
			}
		}
		for outcome, n := range map[string]uint64{"sent": s.Sent, "acknowledged": s.Acknowledged, "failed": s.Failed, "dropped": s.Dropped} {
			emit(snmpNotificationsDesc, prometheus.CounterValue, float64(n), s.Target, s.Kind, outcome)
		}
		emit(snmpQueueDesc, prometheus.GaugeValue, float64(s.Queued), s.Target)
	}
	emit(snmpFilteredDesc, prometheus.CounterValue, float64(d.agent.Filtered()))

	if f := d.forwarder.Load(); f != nil {
		for _, s := range f.Status() {
			emit(syslogSentDesc, prometheus.CounterValue, float64(s.Sent), s.Loghost)
			emit(syslogDroppedDesc, prometheus.CounterValue, float64(s.Dropped), s.Loghost)
			emit(syslogSpoolDesc, prometheus.GaugeValue, float64(s.Queued), s.Loghost)
			emit(syslogConnectedDesc, prometheus.GaugeValue, boolValue(s.Connected), s.Loghost)
			emit(syslogConfirmedDesc, prometheus.CounterValue, float64(s.Confirmed), s.Loghost)
			emit(syslogUnconfirmedDesc, prometheus.GaugeValue, float64(s.Unconfirmed), s.Loghost)
			if syslogd.IsBus(s.Scheme) {
				emit(syslogFailedDesc, prometheus.CounterValue, float64(s.Failed), s.Loghost)
				metric, err := prometheus.NewConstSummary(syslogAckLatencyDesc, s.Confirmed, s.AckLatency.Seconds(), nil, s.Loghost)
				if err != nil {
					metric = prometheus.NewInvalidMetric(syslogAckLatencyDesc, err)
				}
				ch <- metric
			}
		}
	}

	for name, st := range d.collectorStats() {
		emit(collectorRunsDesc, prometheus.CounterValue, float64(st.Runs), name)
		emit(collectorFailuresDesc, prometheus.CounterValue, float64(st.Failures), name)
		emit(collectorDurationDesc, prometheus.GaugeValue, st.LastDuration.Seconds(), name)
	}

	if d.polling != nil {
		p := d.polling.state()
		emit(pollingUpDesc, prometheus.GaugeValue, boolValue(p.On), p.Mode, p.Cause)
		emit(pollingRestartsDesc, prometheus.CounterValue, float64(p.Restarts))
		emit(pollingSubagentDesc, prometheus.GaugeValue, boolValue(p.SubagentConnected))
		emit(pollingObjectsDesc, prometheus.GaugeValue, float64(p.Objects))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
