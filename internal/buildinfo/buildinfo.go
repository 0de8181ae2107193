// Package buildinfo says which hostagent this is: its name, version and
// build, read from what the Go toolchain records in the binary, for
// VMWARE-SYSTEM-MIB's vmwProdName, vmwProdVersion and vmwProdBuild and for
// sysDescr.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Name is the product's name.
const Name = "hostagent"

// Version is the main module's version ("1.2.3" from a tagged build), or
// "0.0.0-dev" for a build from a working tree, which records none.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "0.0.0-dev"
}

// Build is the source revision the binary was built from (12 hex digits,
// "+modified" when the tree had changes), or "unknown" when none was
// recorded (go test, go run).
func Build() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if rev == "" {
		return "unknown"
	}
	return rev[:min(12, len(rev))] + modified
}

// Description is sysDescr: the product, its version and build, and the
// platform it runs on, as ESXi's "VMware ESXi 8.0.2 build-22380479
// VMware, Inc. x86_64".
func Description() string {
	return Name + " " + Version() + " build-" + Build() + " " + runtime.GOOS + " " + runtime.GOARCH
}
