// Package manpage renders a program's manual page in roff, with the man(7)
// macros, from a description and the very pflag flag sets the program
// parses, so that the page cannot drift from the options.
//
// The roff is written here by hand: pflag has no man page renderer,
// cobra's doc package needs cobra commands (hostagent has none), and
// go-md2man would need the flags' usage escaped into markdown first, only
// to be escaped again into roff. The subset needed (.TH, .SH, .SY, .TP,
// .PP and three escapes) is small.
//
// The page carries no date: a page built from the same source is the same
// file, whenever it is built (reproducible builds). The footer names the
// source and its version instead.
package manpage

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Page is one manual page.
type Page struct {
	Name     string   // the program or file the page is about: vicfg-snmp
	Aliases  []string // other names on the NAME line, for whatis and apropos: esxcfg-snmp
	Section  string   // the manual section: 1, 5, 8
	Source   string   // the footer's left part: "hostagent 1.2.3"
	Manual   string   // the header's middle part: "User Commands"
	Date     string   // the footer's middle part; "" for none (reproducible builds)
	Summary  string   // the NAME line after the names: what it is, in a few words
	Synopsis []string // one usage per entry, what follows Name: "[OPTIONS] FILE"
	Sections []Section
	SeeAlso  []string // references as name(section): "vicfg(1)"
}

// Section is one section of a page, after NAME and SYNOPSIS: its text,
// then the options of its flag sets, then its items.
type Section struct {
	Title string // upper case by convention: DESCRIPTION, OPTIONS, FILES
	// Text is plain text: paragraphs separated by a blank line. Lines
	// within a paragraph are filled by the formatter.
	Text string
	// Flags are listed one tagged paragraph per flag, hidden ones left
	// out, in each set's order (sorted unless its SortFlags is false).
	Flags []*pflag.FlagSet
	Items []Item
}

// Item is a tagged paragraph: a file, a signal, a variable, a command.
type Item struct {
	Tag  string // shown in bold
	Text string // plain text, as Section.Text
}

// Write writes the page in roff to w.
func (p *Page) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s %s %s %s %s\n", arg(strings.ToUpper(p.Name)), arg(p.Section), arg(p.Date), arg(p.Source), arg(p.Manual))
	// No hyphenation and a ragged right margin: option names and paths
	// stay whole, and no line is stretched to fill the width.
	b.WriteString(".nh\n.ad l\n")
	b.WriteString(".SH NAME\n")
	names := make([]string, 0, 1+len(p.Aliases))
	for _, n := range append([]string{p.Name}, p.Aliases...) {
		names = append(names, Escape(n))
	}
	fmt.Fprintf(&b, "%s \\- %s\n", strings.Join(names, ", "), Escape(p.Summary))
	if len(p.Synopsis) > 0 {
		b.WriteString(".SH SYNOPSIS\n")
		for _, s := range p.Synopsis {
			// .SY indents the lines a long usage wraps onto under its
			// arguments, as man-pages(7) asks.
			fmt.Fprintf(&b, ".SY %s\n%s\n.YS\n", arg(p.Name), escapeLines(s))
		}
		b.WriteString(".nh\n") // .YS turns hyphenation back on
	}
	for _, s := range p.Sections {
		s.write(&b)
	}
	if len(p.SeeAlso) > 0 {
		b.WriteString(".SH \"SEE ALSO\"\n")
		refs := make([]string, len(p.SeeAlso))
		for i, r := range p.SeeAlso {
			refs[i] = Reference(r)
		}
		b.WriteString(strings.Join(refs, ",\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (s Section) write(b *strings.Builder) {
	fmt.Fprintf(b, ".SH %s\n", arg(s.Title))
	for i, para := range paragraphs(s.Text) {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		b.WriteString(escapeLines(para) + "\n")
	}
	for _, fs := range s.Flags {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			fmt.Fprintf(b, ".TP\n%s\n%s\n", FlagTag(f), escapeLines(flagText(f)))
		})
	}
	for _, it := range s.Items {
		fmt.Fprintf(b, ".TP\n\\fB%s\\fR\n", Escape(it.Tag))
		for i, para := range paragraphs(it.Text) {
			if i > 0 {
				b.WriteString(".IP\n")
			}
			b.WriteString(escapeLines(para) + "\n")
		}
	}
}

// FlagTag is a flag's tag in roff: \fB\-s\fR, \fB\-\-server\fR \fIHOST\fR,
// the value's name taken from the usage's `quoted` word or the type.
func FlagTag(f *pflag.Flag) string {
	var b strings.Builder
	if f.Shorthand != "" {
		fmt.Fprintf(&b, "\\fB%s\\fR, ", Escape("-"+f.Shorthand))
	}
	fmt.Fprintf(&b, "\\fB%s\\fR", Escape("--"+f.Name))
	name, _ := pflag.UnquoteUsage(f)
	switch {
	case name == "":
	case f.NoOptDefVal != "":
		fmt.Fprintf(&b, "[=\\fI%s\\fR]", Escape(name))
	default:
		fmt.Fprintf(&b, " \\fI%s\\fR", Escape(name))
	}
	return b.String()
}

// flagText is a flag's usage, as --help shows it: the `quotes` taken out,
// and the default when it is not the zero value.
func flagText(f *pflag.Flag) string {
	_, usage := pflag.UnquoteUsage(f)
	if zeroDefault(f) {
		return usage
	}
	def := f.DefValue
	switch f.Value.Type() {
	case "string":
		def = fmt.Sprintf("%q", def)
	case "stringSlice", "stringArray", "intSlice":
		def = strings.TrimSuffix(strings.TrimPrefix(def, "["), "]")
	}
	return usage + " (default " + def + ")"
}

// zeroDefault reports whether f's default goes without saying, as pflag
// decides for --help.
func zeroDefault(f *pflag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "[]", "0s", "<nil>":
		return true
	}
	return false
}

// paragraphs splits text at its blank lines, dropping empty paragraphs.
func paragraphs(text string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if p = strings.Trim(p, "\n"); strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

// escapeLines escapes each line of text as filled text: leading blanks
// are dropped (in roff they force a break), and each line is escaped.
func escapeLines(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = Escape(strings.TrimLeft(l, " \t"))
	}
	return strings.Join(lines, "\n")
}

// Escape makes s literal text on one roff line: a backslash is \e, a
// hyphen \- (so that options print as ASCII hyphen-minus, to be copied
// and pasted, and are not broken across lines), and a line starting with
// a period or an apostrophe (a request to roff) starts with \& instead.
func Escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// arg is s as one argument of a macro: escaped, in double quotes, a double
// quote inside written \(dq.
func arg(s string) string {
	return `"` + strings.ReplaceAll(Escape(s), `"`, `\(dq`) + `"`
}

// Reference is a reference to another page, name(section) with the name in
// bold: \fBvicfg\fR(1). Anything else is escaped text.
func Reference(ref string) string {
	name, section, ok := strings.Cut(ref, "(")
	if !ok || !strings.HasSuffix(section, ")") {
		return Escape(ref)
	}
	return fmt.Sprintf("\\fB%s\\fR(%s", Escape(name), Escape(section))
}
