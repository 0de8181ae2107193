// Package hostname checks the hosts users write in targets and loghost
// URIs, so that a typo is refused when it is set rather than found when
// the first message is sent.
package hostname

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Check accepts an IPv4 or IPv6 literal (without brackets) or an RFC 1123
// hostname.
func Check(host string) error {
	if host == "" {
		return errors.New("host is empty")
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if len(host) > 253 {
		return fmt.Errorf("host %q is longer than 253 characters", host)
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q is not an IP address or a valid hostname", host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q is not an IP address or a valid hostname", host)
			}
		}
	}
	return nil
}
