package vicfg

import (
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"hostagent/internal/buildinfo"
	"hostagent/internal/manpage"
	"hostagent/manage/api"
)

// configFiles are hostagentd's configuration files with a page of their
// own, hostagent-NAME.toml(5); vicfg-NAME's page refers to its file's.
var configFiles = []string{"snmp", "syslog", "collectors"}

// pageSource is the pages' footer: the product and its version, no date,
// so that the pages of one version are the same files whenever built.
func pageSource() string { return buildinfo.Name + " " + buildinfo.Version() }

// exitStatus is what Run returns, for the pages.
const exitStatus = "0 on success; 1 on any error (a bad option or value, a refusal by the daemon, the daemon unreachable), each error printed on standard error as PROGRAM: MESSAGE."

// manPage is the command's manual page, vicfg-snmp(1): what --help says,
// with the connection options' variables and the references.
func (c *Command) manPage(cl commandLine) *manpage.Page {
	short := strings.TrimPrefix(c.Name, prefix)
	installed := "It is a link to " + Program + "(1), installed as " + c.Name
	for _, a := range c.Aliases {
		installed += " and " + a
	}
	installed += "; " + Program + " " + short + " runs it too."
	own := pflag.NewFlagSet("own", pflag.ContinueOnError)
	own.SortFlags = cl.fs.SortFlags
	cl.fs.VisitAll(func(f *pflag.Flag) {
		if cl.conn.flags.Lookup(f.Name) == nil {
			own.AddFlag(f)
		}
	})
	var env []manpage.Item
	for _, ev := range envVars {
		env = append(env, manpage.Item{Tag: ev.env, Text: "The value of --" + ev.flag + " when the option is not given."})
	}
	seeAlso := []string{Program + "(1)", "hostagentd(8)"}
	if slices.Contains(configFiles, short) {
		seeAlso = append(seeAlso, "hostagent-"+short+".toml(5)")
	}
	return &manpage.Page{
		Name: c.Name, Aliases: c.Aliases, Section: "1",
		Source: pageSource(), Manual: "User Commands",
		Summary:  c.Short,
		Synopsis: c.Synopsis,
		Sections: []manpage.Section{
			{Title: "DESCRIPTION", Text: c.About + "\n\n" + installed + "\n\n" +
				"Without --server it talks to the local hostagentd over its unix socket, " + api.DefaultSocket +
				", which root and the socket's group may use; with --server HOST, over HTTPS as a named user."},
			{Title: "OPTIONS", Flags: []*pflag.FlagSet{own}},
			{Title: "CONNECTION OPTIONS", Text: "Every vicfg command takes these options. Each one not given is read from the environment variable named in parentheses (see ENVIRONMENT); an option given wins over its variable.",
				Flags: []*pflag.FlagSet{cl.conn.flags}},
			{Title: "NOTES", Text: c.Notes},
			{Title: "EXIT STATUS", Text: exitStatus},
			{Title: "ENVIRONMENT", Items: env},
		},
		SeeAlso: seeAlso,
	}
}

// manPage is the program's manual page, vicfg(1): its commands and the
// names each answers to.
func (r *Registry) manPage() *manpage.Page {
	var cmds []manpage.Item
	seeAlso := []string{}
	for _, c := range r.all {
		cmds = append(cmds, manpage.Item{
			Tag:  strings.Join(append([]string{c.Name}, c.Aliases...), ", "),
			Text: c.Short + "; see " + c.Name + "(1).",
		})
		seeAlso = append(seeAlso, c.Name+"(1)")
	}
	seeAlso = append(seeAlso, "hostagentd(8)")
	for _, f := range configFiles {
		seeAlso = append(seeAlso, "hostagent-"+f+".toml(5)")
	}
	return &manpage.Page{
		Name: Program, Section: "1", Source: pageSource(), Manual: "User Commands",
		Summary:  "configure hostagentd as ESXi's vCLI commands configure a host",
		Synopsis: []string{"COMMAND [OPTIONS]", "--help"},
		Sections: []manpage.Section{
			{Title: "DESCRIPTION", Text: Program + " holds every command that configures hostagentd(8), the host agent. " +
				"Each command is installed as a link to " + Program + " under its name (and ESXi's esxcfg names for some), " +
				"and the name it is run by picks the command: vicfg-snmp -s. " +
				"Run as " + Program + ", the first argument names the command, with or without \"" + prefix + "\": " + Program + " snmp -s.\n\n" +
				Program + " alone lists the commands on standard error and exits 1; " + Program + " --help (or -h, or help) lists them on standard output. " +
				"COMMAND --help shows a command's options; each has its page."},
			{Title: "COMMANDS", Items: cmds},
			{Title: "EXIT STATUS", Text: exitStatus},
		},
		SeeAlso: seeAlso,
	}
}

// writeManPage writes vicfg(1).
func (r *Registry) writeManPage(w io.Writer) error { return r.manPage().Write(w) }
