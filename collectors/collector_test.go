package collectors_test

import (
	"hostagent/collectors"
	"hostagent/snmpagent"
)

// The SNMP agent is what collectors deliver to.
var _ collectors.Notifier = (*snmpagent.Agent)(nil)
