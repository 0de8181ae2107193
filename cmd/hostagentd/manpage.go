package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"hostagent/internal/buildinfo"
	"hostagent/internal/manpage"
)

// manPage is hostagentd(8), its options read from fs, the flag set main
// parses: the page cannot name an option the daemon lacks, nor a default
// it does not have.
func manPage(fs *pflag.FlagSet) *manpage.Page {
	def := func(name string) string { return fs.Lookup(name).DefValue }
	configDir, stateDir := def("config-dir"), def("state-dir")
	file := func(name, what string) manpage.Item {
		return manpage.Item{Tag: filepath.Join(configDir, name), Text: what}
	}
	return &manpage.Page{
		Name: "hostagentd", Section: "8",
		Source: buildinfo.Name + " " + buildinfo.Version(), Manual: "System Manager's Manual",
		Summary:  "the hostagent daemon: SNMP notifications, syslog forwarding and remote management for a Linux host",
		Synopsis: []string{"[OPTIONS]"},
		Sections: []manpage.Section{
			{Title: "DESCRIPTION", Text: `hostagentd makes a Linux virtualization host look like an ESXi host to the tools that watch one.

It runs an SNMP notification agent that sends ESXi's notifications (SNMPv1 and v2c traps, informs, SNMPv3) to the configured targets: VM power and heartbeat changes from libvirt, hardware sensors, resource thresholds and network links, each watched by a collector. It answers polls through net-snmp's snmpd, as its AgentX subagent, serving the VMware MIBs.

It forwards the host's log files, and the messages of its local syslog socket, to remote loghosts over UDP, TCP, TLS or RELP, or to a log bus (Kafka, NATS JetStream), keeping its place in each file until a line counts as delivered.

It serves the management API the vicfg commands use: to root and one group on a unix socket, and, with --https-listen, to named users over HTTPS, with roles, lockdown mode and an audit trail; there it also serves a web console at https://HOST:PORT/ui/, a client of the same API.

The configuration is TOML in the configuration directory (--config-dir). The daemon watches the directory and applies an edit as soon as the file is written: an invalid edit is refused with a logged error naming the file, the setting and the value, and the previous configuration keeps running. Each configuration put in force is kept in the state directory as a last good copy; a file found invalid at start is replaced by that copy, with an error logged, until it is fixed. Without any file, the daemon runs the defaults: the agent off and no loghost, as an ESXi host leaves the factory.

It logs to standard error, for the journal.`},
			{Title: "OPTIONS", Flags: []*pflag.FlagSet{fs}},
			{Title: "FILES", Items: []manpage.Item{
				file("snmp.toml", "The SNMP agent's settings: see hostagent-snmp.toml(5)."),
				file("syslog.toml", "The loghosts, their options and the log inputs: see hostagent-syslog.toml(5)."),
				file("collectors.toml", "The collectors, the sources of notifications: see hostagent-collectors.toml(5)."),
				{Tag: stateDir, Text: "The daemon's state (--state-dir): the SNMP engine ID and boot count, the users and roles, the positions in the log files, the spools of the loghosts, the last good copies of the configuration files, the generated TLS certificate and the audit trail. Only root reads it."},
				{Tag: def("api-socket"), Text: "The management API's unix socket (--api-socket), mode 0660: root and the group of --api-group may use it."},
			}},
			{Title: "SIGNALS", Items: []manpage.Item{
				{Tag: "SIGTERM, SIGINT", Text: "Stop cleanly: the API closes, queued notifications get up to three seconds to leave, the socket is removed."},
				{Tag: "SIGHUP", Text: "Read the configuration files again, as after an edit."},
			}},
			{Title: "ENVIRONMENT", Items: []manpage.Item{
				{Tag: "GOMEMLIMIT", Text: fmt.Sprintf("The Go runtime's soft memory limit; without it, hostagentd sets %d MiB.", defaultMemoryLimit>>20)},
			}},
			{Title: "EXIT STATUS", Text: "0 when stopped by a signal, or after --help; 1 when the daemon cannot start or fails; 2 for a mistake on the command line."},
		},
		SeeAlso: []string{"vicfg(1)", "vicfg-snmp(1)", "vicfg-syslog(1)", "vicfg-user(1)", "vicfg-hostops(1)", "vicfg-cfgbackup(1)",
			"hostagent-snmp.toml(5)", "hostagent-syslog.toml(5)", "hostagent-collectors.toml(5)", "snmpd(8)", "systemctl(1)"},
	}
}
