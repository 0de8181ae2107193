package vicfg

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// completionOption is one option as the completion script knows it.
type completionOption struct {
	names  []string // --communities, -c
	value  bool     // takes a value, in the next word or after =
	values []string // the words its value is one of, when its usage names them: enable|disable
}

// valueWord is a word an option's value may be, as its value name lists
// them (--lockdown enable|disable|normal|strict); a name in capitals
// (unix:PATH|HOST) is a placeholder, not a word to complete.
var valueWord = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// completionOptions are c's options, from the flag set a run parses,
// hidden ones left out.
func (c *Command) completionOptions() []completionOption {
	cl := c.commandLine(c.Name)
	var opts []completionOption
	cl.fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		o := completionOption{names: []string{"--" + f.Name}, value: f.NoOptDefVal == ""}
		if f.Shorthand != "" {
			o.names = append(o.names, "-"+f.Shorthand)
		}
		if name, _ := pflag.UnquoteUsage(f); o.value && strings.Contains(name, "|") {
			words := strings.Split(name, "|")
			if allMatch(words, valueWord) {
				o.values = words
			}
		}
		opts = append(opts, o)
	})
	return opts
}

func allMatch(words []string, re *regexp.Regexp) bool {
	for _, w := range words {
		if !re.MatchString(w) {
			return false
		}
	}
	return true
}

// writeCompletion writes the bash completion script of the program and of
// every command: the command names after vicfg, and each command's
// options, and the words of an option's value where its usage names
// them. Everything else (a FILE, a HOST) is left to bash's default
// completion, file names.
func (r *Registry) writeCompletion(w io.Writer) error {
	var b strings.Builder
	var words, progs []string // after vicfg; the names completion is for
	progs = append(progs, Program)
	b.WriteString(`# bash completion for ` + Program + ` and its commands, written by
# "` + Program + ` --completion bash" from the options the commands parse.

# _vicfg_command prints the command a name runs, or nothing.
_vicfg_command() {
	case $1 in
`)
	for _, c := range r.all {
		names := append([]string{c.Name, strings.TrimPrefix(c.Name, prefix)}, c.Aliases...)
		fmt.Fprintf(&b, "\t%s) echo %s ;;\n", strings.Join(names, "|"), c.Name)
		words = append(words, names...)
		progs = append(progs, c.Name)
		progs = append(progs, c.Aliases...)
	}
	b.WriteString("\tesac\n}\n\n# _vicfg_options prints a command's options.\n_vicfg_options() {\n\tcase $1 in\n")
	opts := map[string][]completionOption{}
	for _, c := range r.all {
		opts[c.Name] = c.completionOptions()
		var all []string
		for _, o := range opts[c.Name] {
			all = append(all, o.names...)
		}
		fmt.Fprintf(&b, "\t%s) echo '%s' ;;\n", c.Name, strings.Join(all, " "))
	}
	b.WriteString("\tesac\n}\n\n" +
		"# _vicfg_value prints the words the value of a command's option may be,\n" +
		"# or \"-\" for a value of any kind; it fails for an option taking none.\n" +
		"_vicfg_value() {\n\tcase \"$1 $2\" in\n")
	for _, c := range r.all {
		var anyValue []string
		for _, o := range opts[c.Name] {
			if !o.value {
				continue
			}
			var pats []string
			for _, n := range o.names {
				pats = append(pats, fmt.Sprintf("%q", c.Name+" "+n))
			}
			if o.values == nil {
				anyValue = append(anyValue, pats...)
				continue
			}
			fmt.Fprintf(&b, "\t%s) echo '%s' ;;\n", strings.Join(pats, "|"), strings.Join(o.values, " "))
		}
		if len(anyValue) > 0 {
			fmt.Fprintf(&b, "\t%s) echo - ;;\n", strings.Join(anyValue, "|"))
		}
	}
	b.WriteString("\t*) return 1 ;;\n\tesac\n}\n\n")
	fmt.Fprintf(&b, `_vicfg() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd=${COMP_WORDS[0]##*/} values
	COMPREPLY=()
	(( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
	# bash splits --option=value at the =: complete the value.
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then
		prev=${COMP_WORDS[COMP_CWORD-2]}
	fi
	if [[ $cmd == %[1]s ]]; then
		if (( COMP_CWORD == 1 )); then
			COMPREPLY=($(compgen -W '%[2]s --help' -- "$cur"))
			return
		fi
		cmd=${COMP_WORDS[1]}
	fi
	cmd=$(_vicfg_command "$cmd")
	[[ -n $cmd ]] || return 0
	if values=$(_vicfg_value "$cmd" "$prev"); then
		# A value: its words, or bash's default completion (files).
		[[ $values == - ]] || COMPREPLY=($(compgen -W "$values" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W "$(_vicfg_options "$cmd")" -- "$cur"))
}

complete -o default -F _vicfg %[3]s
`, Program, strings.Join(words, " "), strings.Join(progs, " "))
	_, err := io.WriteString(w, b.String())
	return err
}
