package trapwatch_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/internal/trapwatch"
	"hostagent/mibs"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent"
	"hostagent/snmpagent/snmpconfig"
)

// TestWatchLogsWhatTheAgentSends: every kind the agent sends is logged
// with catalogue names, and informs are acknowledged.
func TestWatchLogsWhatTheAgentSends(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	var out peertest.Buffer
	w, err := trapwatch.Start(addr, (*resolve.Resolver)(nil), slog.New(slog.NewTextHandler(&out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	a := snmpagent.New(slog.New(slog.DiscardHandler))
	cfg := snmpconfig.DefaultConfig()
	cfg.Enabled, cfg.Communities = true, []string{"public"}
	host, port, _ := net.SplitHostPort(addr)
	cfg.Targets = []string{"v1:" + host + "@" + port, "inform:" + host + "@" + port}
	p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	a.Apply(p)
	defer a.Close(context.Background())
	on := mibs.VmwVmPoweredOn.MustNew(mibs.Int(3), mibs.String("/vm/db.xml"), mibs.String("db").At(3))
	res, err := a.Test(context.Background())
	if err != nil || len(res) != 2 || res[1].Result != "acknowledged" {
		t.Fatalf("test: %+v %v", res, err)
	}
	_ = a.Notify(context.Background(), on)
	want := []string{
		`pdu="v1 trap" notification=SNMPv2-MIB::coldStart enterprise=VMWARE-PRODUCTS-MIB::vmwESX generic=0`,
		`pdu="v2c inform" notification=SNMPv2-MIB::warmStart`,
		`pdu="v1 trap" notification=VMWARE-VMINFO-MIB::vmwVmPoweredOn`,
		`varbinds="VMWARE-VMINFO-MIB::vmwVmID.0=3 VMWARE-VMINFO-MIB::vmwVmConfigFilePath.0=/vm/db.xml VMWARE-VMINFO-MIB::vmwVmDisplayName.3=db"`,
	}
	for _, w := range want {
		if !peertest.Until(5*time.Second, func() bool { return strings.Contains(out.String(), w) }) {
			t.Fatalf("log lacks %s:\n%s", w, out.String())
		}
	}
}
