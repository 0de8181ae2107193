// Package all is the list of sources built into hostagentd. Each source
// registers itself with collectors.Register from its init; importing it
// here, for that effect alone, is the one place a built-in source is
// named outside its folder. The list is a package of its own, imported by
// the command rather than by internal/daemon, so that the daemon stays
// generic over the registry and a test can run a daemon with its own
// sources only (Telegraf's plugins/inputs/all does the same).
package all

import (
	_ "hostagent/collectors/links"
	_ "hostagent/collectors/resources"
	_ "hostagent/collectors/sensors"
	_ "hostagent/collectors/vms"
)
