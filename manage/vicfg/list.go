package vicfg

import "strings"

// List splits a comma-separated option value. It is the one rule of every
// command's list options (--communities, --targets, --notraps, --loghost,
// --privileges), Perl's split(/,/) as ESXi's vCLI commands apply it:
//
//   - blanks around each item are trimmed: "a, b" is [a b];
//   - empty items at the end are dropped, so a trailing comma is harmless:
//     "a," is [a];
//   - an empty item before another is kept, to be refused with a message
//     naming it: "a,,b" is [a "" b]. None of the lists may hold an empty
//     item (a community, a target, a trap, a loghost, a privilege), so a
//     doubled comma is a typing mistake, not to be guessed at, and the
//     daemon refuses it (vicfg-syslog refuses it before connecting);
//   - a value with no item ("" or " ") is the empty list, so that -c ""
//     clears a list; a value of commas alone ("," or " , ") is [""], a
//     mistake to refuse, not a way to clear the list by a slip of the
//     finger;
//   - there is no quoting: a comma always separates, as in ESXi's
//     commands.
func List(s string) []string {
	l := strings.Split(s, ",")
	for i := range l {
		l[i] = strings.TrimSpace(l[i])
	}
	for len(l) > 0 && l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	if len(l) == 0 && strings.Contains(s, ",") {
		return []string{""}
	}
	return l // never nil: an empty list clears, where nil would keep
}
