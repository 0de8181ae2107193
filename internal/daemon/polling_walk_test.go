package daemon_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hostagent/internal/buildinfo"
	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/snmpagent/usm"
)

// The proof of polling (issue 12) beyond TestPollingThroughSnmpd: whole
// walks decoded by name with the MIB files, over v2c and SNMPv3 authPriv;
// wrong credentials unanswered; a sensor's threshold crossing in
// vmwEnvTable; the system's snmpd as master; a walk cross-checked with
// pysnmp.

// walkSetup says which collectors a walk test's daemon runs.
type walkSetup struct {
	vms       bool // on a private libvirtd's test driver
	resources bool // on the fixture /proc of writeWalkProc
	// sensorMilli is hwmon0's temp1_input in millidegrees C (temp1_crit
	// is 95000); 0 leaves the sensors collector off.
	sensorMilli int
	snmpExtra   string // more lines of snmp.toml
}

// walkAgent is a daemon answering polls through its private snmpd.
type walkAgent struct {
	running
	addr string
	lv   *peertest.Libvirtd // nil without VMs
}

// The fixture /proc of the resources collector: two CPUs and 4,000,000 kB
// of memory of which 1,000,000 kB are available.
const (
	walkCPUs     = 2
	walkMemTotal = 4000000
	walkMemAvail = 1000000
)

func writeWalkProc(t *testing.T, proc string) {
	t.Helper()
	writeFile(t, filepath.Join(proc, "stat"), "cpu  200 0 100 900 100 0 0 0 0 0\ncpu0 100 0 50 450 50 0 0 0 0 0\ncpu1 100 0 50 450 50 0 0 0 0 0\n"+
		"intr 12345 0 0\nctxt 999\nbtime 1700000000\nprocesses 4242\nprocs_running 2\nprocs_blocked 0\n")
	writeFile(t, filepath.Join(proc, "meminfo"), fmt.Sprintf("MemTotal:       %d kB\nMemFree:        %d kB\nMemAvailable:   %d kB\nBuffers:        0 kB\nCached:         0 kB\nSwapTotal:      0 kB\nSwapFree:       0 kB\n",
		walkMemTotal, walkMemAvail/2, walkMemAvail))
	writeFile(t, filepath.Join(proc, "loadavg"), "0.50 0.40 0.30 2/345 6789\n")
	writeFile(t, filepath.Join(proc, "mounts"), "proc /proc proc rw 0 0\n")
}

// walkChip is the fixture sensor's folder under the daemon's sysfs.
func walkChip(dir string) string { return filepath.Join(dir, "sys", "class", "hwmon", "hwmon0") }

// setWalkSensor writes temp1_input as the kernel would show it, replacing
// the file as a whole so that the collector never reads half of it.
func setWalkSensor(t *testing.T, dir string, milli int) {
	t.Helper()
	replaceFile(t, filepath.Join(walkChip(dir), "temp1_input"), fmt.Sprintf("%d\n", milli))
}

// startWalkAgent starts a daemon with polling private on a free loopback
// port (community "public", syscontact and syslocation set) and the
// collectors s asks for, and waits until polls reach its subagent.
func startWalkAgent(t *testing.T, s walkSetup) walkAgent {
	t.Helper()
	peertest.RequireCommand(t, "snmpd", "snmpd")
	peertest.RequireCommand(t, "snmpwalk", "snmp")
	dir := t.TempDir()
	var a walkAgent
	collectorsToml := "[links]\nenabled = false\n"
	if s.vms {
		peertest.RequireCommand(t, "virsh", "libvirt-clients")
		a.lv = peertest.StartLibvirtd(t)
		collectorsToml += fmt.Sprintf("[vms]\nenabled = true\nuri = \"test:///default\"\nsocket = %q\n", a.lv.Socket())
	} else {
		collectorsToml += "[vms]\nenabled = false\n"
	}
	if s.resources {
		writeWalkProc(t, filepath.Join(dir, "proc"))
		// No rule: only the VMWARE-RESOURCES-MIB scalars are published.
		collectorsToml += "[resources]\nenabled = true\nrules = []\n"
	} else {
		collectorsToml += "[resources]\nenabled = false\n"
	}
	if s.sensorMilli != 0 {
		chip := walkChip(dir)
		writeFile(t, filepath.Join(chip, "name"), "coretemp\n")
		writeFile(t, filepath.Join(chip, "temp1_label"), "Package id 0\n")
		writeFile(t, filepath.Join(chip, "temp1_crit"), "95000\n")
		writeFile(t, filepath.Join(chip, "temp1_input"), fmt.Sprintf("%d\n", s.sensorMilli))
		collectorsToml += "[sensors]\nenabled = true\ninterval = \"1s\"\nstyle = \"env\"\n"
	} else {
		collectorsToml += "[sensors]\nenabled = false\n"
	}
	port, err := peertest.FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, fmt.Sprintf("enabled = true\npolling = \"private\"\nlisten_address = \"127.0.0.1\"\nport = %d\ncommunities = [\"public\"]\nsyscontact = \"noc@example.com\"\nsyslocation = \"rack 7\"\n%s", port, s.snmpExtra))
	writeFile(t, filepath.Join(dir, "etc", daemon.CollectorsFile), collectorsToml)
	a.running = start(t, dir)
	a.addr = "127.0.0.1:" + strconv.Itoa(port)
	waitFor(t, "polls answered through the subagent", func() bool {
		p := a.daemon.SNMPState().Polling
		return p.On && p.SubagentConnected
	})
	return a
}

// walkV2c are the security options of the tests' community.
var walkV2c = []string{"-v2c", "-c", "public"}

// addV3User gives the agent the SNMPv3 user "nms" (SHA-256, AES-128, keys
// localized to the agent's engine ID) through vicfg-snmp, as an operator
// does, waits until snmpd answers it, and returns the options of a client
// using it.
func (a walkAgent) addV3User(t *testing.T) []string {
	t.Helper()
	engine, err := usm.ParseEngineID(a.daemon.SNMPState().EngineID)
	if err != nil {
		t.Fatal(err)
	}
	ak, pk, err := usm.LocalizedKeys(usm.AuthSHA256, []byte("walk-auth-secret"), []byte("walk-priv-secret"), engine)
	if err != nil {
		t.Fatal(err)
	}
	if code, o, e := a.cli(t, "--authentication", "SHA256", "--privacy", "AES128", "--users", "nms/"+hex.EncodeToString(ak)+"/"+hex.EncodeToString(pk)+"/priv"); code != 0 {
		t.Fatalf("vicfg-snmp --users: %d %s %s", code, o, e)
	}
	v3 := []string{"-v3", "-l", "authPriv", "-u", "nms", "-a", "SHA-256", "-A", "walk-auth-secret", "-x", "AES", "-X", "walk-priv-secret"}
	// The change restarts snmpd with the user: answered through the
	// subagent, attached again to the new snmpd.
	walkWaitGet(t, a.addr, v3, 20*time.Second, "the SNMPv3 user answered", func(got map[string]string) bool {
		return got["VMWARE-SYSTEM-MIB::vmwProdName.0"] == "STRING: hostagent"
	}, "VMWARE-SYSTEM-MIB::vmwProdName.0")
	return v3
}

// walkObject is one variable as net-snmp's clients print it with the MIB
// files: Name as "MODULE::object.index", Value as "TYPE: value".
type walkObject struct{ Name, Value string }

// walkLine starts each variable of net-snmp's default output; other
// lines continue the value of the one before (long Hex-STRINGs wrap).
var walkLine = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*::[^ ]+|\.[0-9.]+) = (.*)$`)

func parseWalkObjects(t *testing.T, out string) []walkObject {
	t.Helper()
	var objs []walkObject
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := walkLine.FindStringSubmatch(line); m != nil {
			objs = append(objs, walkObject{Name: m[1], Value: m[2]})
			continue
		}
		if len(objs) == 0 {
			t.Fatalf("net-snmp printed %q before any variable:\n%s", line, out)
		}
		objs[len(objs)-1].Value += "\n" + line
	}
	return objs
}

func walkNames(objs []walkObject) []string {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.Name
	}
	return names
}

func walkMap(objs []walkObject) map[string]string {
	m := make(map[string]string, len(objs))
	for _, o := range objs {
		m[o.Name] = o.Value
	}
	return m
}

// walkPollOpts bound a poll of the tests' agent: it answers in milliseconds.
var walkPollOpts = []string{"-t", "3", "-r", "1"}

// get GETs oids with sec's credentials and returns what snmpget printed,
// by name.
func (a walkAgent) get(t *testing.T, sec []string, oids ...string) (map[string]string, error) {
	t.Helper()
	return walkGet(t, a.addr, sec, oids...)
}

// walkWaitGet GETs oids until the answer satisfies ok, and fails with the
// last answer when it does not within timeout.
func walkWaitGet(t *testing.T, addr string, sec []string, timeout time.Duration, what string, ok func(map[string]string) bool, oids ...string) map[string]string {
	t.Helper()
	var got map[string]string
	var err error
	if !peertest.Until(timeout, func() bool {
		got, err = walkGet(t, addr, sec, oids...)
		return err == nil && ok(got)
	}) {
		t.Fatalf("timed out after %v waiting for %s; last answer %v %v", timeout, what, got, err)
	}
	return got
}

func walkGet(t *testing.T, addr string, sec []string, oids ...string) (map[string]string, error) {
	t.Helper()
	out, err := peertest.NetSNMP(t, "snmpget", slices.Concat(sec, walkPollOpts, []string{addr}, oids)...)
	if err != nil {
		return nil, err
	}
	return walkMap(parseWalkObjects(t, out)), nil
}

// walk walks root three ways and returns snmpbulkwalk's objects, once the
// three agree on the names: snmpwalk (GETNEXT; it stops with "OID not
// increasing" at an object out of order), snmpwalk -Cc as the issue names
// it (which does not check the order, so it must end by itself, with the
// same objects, to pass) and snmpbulkwalk (GETBULK, 5 repetitions so that
// tables take several requests; it checks the order as snmpwalk does).
// A walk of nothing fails: every root the tests walk has objects.
func (a walkAgent) walk(t *testing.T, sec []string, root string) []walkObject {
	t.Helper()
	return walkAt(t, a.addr, sec, root)
}

func walkAt(t *testing.T, addr string, sec []string, root string) []walkObject {
	t.Helper()
	run := func(client string, opts ...string) []walkObject {
		t.Helper()
		out, err := peertest.NetSNMP(t, client, slices.Concat(sec, walkPollOpts, opts, []string{addr, root})...)
		if err != nil {
			t.Fatalf("%s of %s: %v", client, root, err)
		}
		objs := parseWalkObjects(t, out)
		if len(objs) == 0 || strings.Contains(out, "No Such Object") || strings.Contains(out, "No more variables") {
			t.Fatalf("%s of %s found nothing:\n%s", client, root, out)
		}
		return objs
	}
	next := run("snmpwalk")
	unchecked := run("snmpwalk", "-Cc")
	bulk := run("snmpbulkwalk", "-Cr5")
	for _, o := range bulk {
		// net-snmp checks each value's type against the MIB file.
		if strings.HasPrefix(o.Value, "Wrong Type") {
			t.Errorf("walk of %s: %s is not of its MIB syntax: %s", root, o.Name, o.Value)
		}
	}
	for _, w := range []struct {
		how  string
		objs []walkObject
	}{{"snmpwalk -Cc", unchecked}, {"snmpbulkwalk", bulk}} {
		if !slices.Equal(walkNames(w.objs), walkNames(next)) {
			t.Errorf("%s of %s found other objects than snmpwalk:\n%v\n%v", w.how, root, walkNames(w.objs), walkNames(next))
		}
	}
	return bulk
}

// wantWalkValues checks the objects a walk found against the values
// expected of some of them (a value matched whole, or by a regular
// expression when it starts with "~").
func wantWalkValues(t *testing.T, what string, got map[string]string, want map[string]string) {
	t.Helper()
	for name, v := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: %s missing", what, name)
		case strings.HasPrefix(v, "~"):
			if !regexp.MustCompile("^(?:" + v[1:] + ")$").MatchString(g) {
				t.Errorf("%s: %s = %q, want it to match %s", what, name, g, v[1:])
			}
		case g != v:
			t.Errorf("%s: %s = %q, want %q", what, name, g, v)
		}
	}
}

// walkVMColumns are the vmwVmTable columns served (VMWARE-VMINFO-MIB
// columns 2-6 and 8-10: vmwVmIdx is the index, vmwVmVMID obsolete).
var walkVMColumns = []string{"vmwVmDisplayName", "vmwVmConfigFile", "vmwVmGuestOS", "vmwVmMemSize", "vmwVmState", "vmwVmGuestState", "vmwVmCpus", "vmwVmUUID"}

// walkVMNetColumns are the vmwVmNetTable columns served
// (vmwVmNetConnType is obsolete).
var walkVMNetColumns = []string{"vmwVmNetNum", "vmwVmNetName", "vmwVmNetConnected", "vmwVmMAC"}

// walkTableNames are a table's objects in walk order (column by column) for
// these columns and rows.
func walkTableNames(module string, columns []string, rows ...string) []string {
	var out []string
	for _, c := range columns {
		for _, r := range rows {
			out = append(out, module+"::"+c+"."+r)
		}
	}
	return out
}

// walkUUIDPattern is vmwVmUUID as libvirt and ESXi write a UUID.
// net-snmp quotes it: its syntax is OCTET STRING, not DisplayString.
const walkUUIDPattern = `~STRING: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"`

// The test driver's "test" domain, as libvirt's test driver defines it.
const walkTestUUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"

// checkWalkTrees walks every subtree the issue names with sec's
// credentials and checks what is known of each; it returns the VMware
// subtrees' objects by root, for comparing two security models.
func checkWalkTrees(t *testing.T, a walkAgent, sec []string) map[string][]string {
	t.Helper()
	vmware := map[string][]string{}

	// SNMPv2-MIB's system group, from snmpd, with hostagent's settings.
	sys := walkMap(a.walk(t, sec, "SNMPv2-MIB::system"))
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	wantWalkValues(t, "system group", sys, map[string]string{
		"SNMPv2-MIB::sysDescr.0":                   "STRING: " + buildinfo.Description(),
		"SNMPv2-MIB::sysObjectID.0":                "OID: VMWARE-PRODUCTS-MIB::vmwESX",
		"DISMAN-EXPRESSION-MIB::sysUpTimeInstance": `~Timeticks: \(\d+\) .*`,
		"SNMPv2-MIB::sysContact.0":                 "STRING: noc@example.com",
		"SNMPv2-MIB::sysName.0":                    "STRING: " + host,
		"SNMPv2-MIB::sysLocation.0":                "STRING: rack 7",
	})

	// IF-MIB: a row per interface of the host (snmpd and the test share
	// its network namespace), with its name, status and HC counters.
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	ifTable := walkMap(a.walk(t, sec, "IF-MIB::ifTable"))
	ifXTable := walkMap(a.walk(t, sec, "IF-MIB::ifXTable"))
	for _, i := range ifaces {
		n := strconv.Itoa(i.Index)
		oper := `~INTEGER: (up\(1\)|down\(2\)|unknown\(4\)|dormant\(5\)|lowerLayerDown\(7\))`
		if i.Name == "lo" {
			oper = "INTEGER: up(1)"
		}
		wantWalkValues(t, "ifTable", ifTable, map[string]string{
			"IF-MIB::ifIndex." + n:       "INTEGER: " + n,
			"IF-MIB::ifDescr." + n:       "STRING: " + i.Name,
			"IF-MIB::ifOperStatus." + n:  oper,
			"IF-MIB::ifAdminStatus." + n: `~INTEGER: (up\(1\)|down\(2\))`,
		})
		wantWalkValues(t, "ifXTable", ifXTable, map[string]string{
			"IF-MIB::ifName." + n:        "STRING: " + i.Name,
			"IF-MIB::ifHCInOctets." + n:  `~Counter64: \d+`,
			"IF-MIB::ifHCOutOctets." + n: `~Counter64: \d+`,
		})
	}

	// HOST-RESOURCES-MIB: hrStorageTable (physical memory among its rows,
	// every row complete), hrProcessorLoad.
	storage := a.walk(t, sec, "HOST-RESOURCES-MIB::hrStorageTable")
	sm := walkMap(storage)
	ram := ""
	for _, o := range storage {
		if strings.HasPrefix(o.Name, "HOST-RESOURCES-MIB::hrStorageIndex.") {
			n := strings.TrimPrefix(o.Name, "HOST-RESOURCES-MIB::hrStorageIndex.")
			wantWalkValues(t, "hrStorageTable", sm, map[string]string{
				"HOST-RESOURCES-MIB::hrStorageType." + n:            `~OID: HOST-RESOURCES-TYPES::hrStorage\w+`,
				"HOST-RESOURCES-MIB::hrStorageDescr." + n:           `~STRING: .+`,
				"HOST-RESOURCES-MIB::hrStorageAllocationUnits." + n: `~INTEGER: \d+ Bytes`,
				"HOST-RESOURCES-MIB::hrStorageSize." + n:            `~INTEGER: \d+`,
				"HOST-RESOURCES-MIB::hrStorageUsed." + n:            `~INTEGER: \d+`,
			})
			if sm["HOST-RESOURCES-MIB::hrStorageDescr."+n] == "STRING: Physical memory" {
				ram = n
			}
		}
	}
	if ram == "" || sm["HOST-RESOURCES-MIB::hrStorageType."+ram] != "OID: HOST-RESOURCES-TYPES::hrStorageRam" {
		t.Errorf("hrStorageTable has no Physical memory row of type hrStorageRam:\n%v", storage)
	}
	checkWalkProcessors(t, a, sec)

	// UCD-SNMP-MIB: memory as the kernel counts it, and the load averages.
	mem := walkMap(a.walk(t, sec, "UCD-SNMP-MIB::memory"))
	wantWalkValues(t, "UCD memory", mem, map[string]string{
		"UCD-SNMP-MIB::memTotalReal.0": fmt.Sprintf("INTEGER: %d kB", walkHostMemTotal(t)),
		"UCD-SNMP-MIB::memAvailReal.0": `~INTEGER: \d+ kB`,
	})
	la := a.walk(t, sec, "UCD-SNMP-MIB::laLoad")
	if got, want := walkNames(la), []string{"UCD-SNMP-MIB::laLoad.1", "UCD-SNMP-MIB::laLoad.2", "UCD-SNMP-MIB::laLoad.3"}; !slices.Equal(got, want) {
		t.Errorf("laLoad: %v, want %v", got, want)
	}
	wantWalkValues(t, "laLoad", walkMap(la), map[string]string{"UCD-SNMP-MIB::laLoad.1": `~STRING: \d+\.\d\d`})

	// VMWARE-SYSTEM-MIB: this product, exactly its three scalars.
	walked := a.walk(t, sec, "VMWARE-ROOT-MIB::vmwSystem")
	vmware["vmwSystem"] = walkNames(walked)
	if got, want := walkNames(walked), []string{"VMWARE-SYSTEM-MIB::vmwProdName.0", "VMWARE-SYSTEM-MIB::vmwProdVersion.0", "VMWARE-SYSTEM-MIB::vmwProdBuild.0"}; !slices.Equal(got, want) {
		t.Errorf("vmwSystem: %v, want %v", got, want)
	}
	wantWalkValues(t, "vmwSystem", walkMap(walked), map[string]string{
		"VMWARE-SYSTEM-MIB::vmwProdName.0":    "STRING: hostagent",
		"VMWARE-SYSTEM-MIB::vmwProdVersion.0": "STRING: " + buildinfo.Version(),
		"VMWARE-SYSTEM-MIB::vmwProdBuild.0":   "STRING: " + buildinfo.Build(),
	})

	// VMWARE-VMINFO-MIB: the test driver's "test" (vmid 1, running) and
	// web02 (vmid 2, defined, off): every served column of each row, in
	// column order, and nothing else.
	walked = a.walk(t, sec, "VMWARE-VMINFO-MIB::vmwVmTable")
	vmware["vmwVmTable"] = walkNames(walked)
	if got, want := walkNames(walked), walkTableNames("VMWARE-VMINFO-MIB", walkVMColumns, "1", "2"); !slices.Equal(got, want) {
		t.Errorf("vmwVmTable:\n%v\nwant\n%v", got, want)
	}
	wantWalkValues(t, "vmwVmTable", walkMap(walked), map[string]string{
		"VMWARE-VMINFO-MIB::vmwVmDisplayName.1": "STRING: test",
		"VMWARE-VMINFO-MIB::vmwVmConfigFile.1":  "STRING: /etc/libvirt/qemu/test.xml",
		"VMWARE-VMINFO-MIB::vmwVmGuestOS.1":     `~STRING: .*guest OS unknown.*`, // no libosinfo metadata
		"VMWARE-VMINFO-MIB::vmwVmMemSize.1":     "INTEGER: 8192 megabytes",
		"VMWARE-VMINFO-MIB::vmwVmState.1":       "STRING: powered on",
		"VMWARE-VMINFO-MIB::vmwVmGuestState.1":  "STRING: unknown", // running, no guest agent event yet
		"VMWARE-VMINFO-MIB::vmwVmCpus.1":        "INTEGER: 2",
		"VMWARE-VMINFO-MIB::vmwVmUUID.1":        `STRING: "` + walkTestUUID + `"`,
		"VMWARE-VMINFO-MIB::vmwVmDisplayName.2": "STRING: web02",
		"VMWARE-VMINFO-MIB::vmwVmConfigFile.2":  "STRING: /etc/libvirt/qemu/web02.xml",
		"VMWARE-VMINFO-MIB::vmwVmGuestOS.2":     "STRING: http://debian.org/debian/12",
		"VMWARE-VMINFO-MIB::vmwVmMemSize.2":     "INTEGER: 512 megabytes",
		"VMWARE-VMINFO-MIB::vmwVmState.2":       "STRING: powered off",
		"VMWARE-VMINFO-MIB::vmwVmGuestState.2":  "STRING: notRunning",
		"VMWARE-VMINFO-MIB::vmwVmCpus.2":        "INTEGER: 1",
		"VMWARE-VMINFO-MIB::vmwVmUUID.2":        walkUUIDPattern,
	})
	walked = a.walk(t, sec, "VMWARE-VMINFO-MIB::vmwVmNetTable")
	vmware["vmwVmNetTable"] = walkNames(walked)
	if got, want := walkNames(walked), walkTableNames("VMWARE-VMINFO-MIB", walkVMNetColumns, "1.1", "2.1", "2.2"); !slices.Equal(got, want) {
		t.Errorf("vmwVmNetTable:\n%v\nwant\n%v", got, want)
	}
	wantWalkValues(t, "vmwVmNetTable", walkMap(walked), map[string]string{
		"VMWARE-VMINFO-MIB::vmwVmNetNum.1.1":       "STRING: Network adapter 1",
		"VMWARE-VMINFO-MIB::vmwVmNetName.1.1":      "STRING: default",
		"VMWARE-VMINFO-MIB::vmwVmNetConnected.1.1": "STRING: true", // VmwConnectedState: an OCTET STRING
		"VMWARE-VMINFO-MIB::vmwVmMAC.1.1":          "STRING: aa:bb:cc:dd:ee:ff",
		"VMWARE-VMINFO-MIB::vmwVmNetNum.2.2":       "STRING: Network adapter 2",
		"VMWARE-VMINFO-MIB::vmwVmNetName.2.1":      "STRING: br0",
		"VMWARE-VMINFO-MIB::vmwVmNetName.2.2":      "STRING: default",
		"VMWARE-VMINFO-MIB::vmwVmNetConnected.2.1": "STRING: false", // powered off
		"VMWARE-VMINFO-MIB::vmwVmMAC.2.1":          "STRING: 52:54:0:12:34:56",
	})

	// VMWARE-RESOURCES-MIB: the fixture /proc's CPUs and memory.
	walked = a.walk(t, sec, "VMWARE-ROOT-MIB::vmwResources")
	vmware["vmwResources"] = walkNames(walked)
	if got, want := walkNames(walked), []string{"VMWARE-RESOURCES-MIB::vmwNumCPUs.0", "VMWARE-RESOURCES-MIB::vmwMemSize.0", "VMWARE-RESOURCES-MIB::vmwMemCOS.0", "VMWARE-RESOURCES-MIB::vmwMemAvail.0"}; !slices.Equal(got, want) {
		t.Errorf("vmwResources: %v, want %v", got, want)
	}
	wantWalkValues(t, "vmwResources", walkMap(walked), map[string]string{
		"VMWARE-RESOURCES-MIB::vmwNumCPUs.0":  fmt.Sprintf("Gauge32: %d", walkCPUs),
		"VMWARE-RESOURCES-MIB::vmwMemSize.0":  fmt.Sprintf("Gauge32: %d kilobytes", walkMemTotal),
		"VMWARE-RESOURCES-MIB::vmwMemCOS.0":   fmt.Sprintf("Gauge32: %d kilobytes", walkMemTotal-walkMemAvail),
		"VMWARE-RESOURCES-MIB::vmwMemAvail.0": fmt.Sprintf("Gauge32: %d kilobytes", walkMemAvail),
	})

	// VMWARE-ENV-MIB: the hot sensor's row (at the index its notification
	// carried, the first event: 1), the count and the source.
	walked = a.walk(t, sec, "VMWARE-ENV-MIB::vmwEnv")
	vmware["vmwEnv"] = walkNames(walked)
	envNames := append(append([]string{"VMWARE-ENV-MIB::vmwEnvNumber.0", "VMWARE-ENV-MIB::vmwEnvLastChange.0"},
		walkTableNames("VMWARE-ENV-MIB", []string{"vmwSubsystemType", "vmwHardwareStatus", "vmwEventDescription", "vmwEnvHardwareTime", "vmwEnvHrDeviceIndex", "vmwEnvSelSensorNumber"}, "1")...),
		"VMWARE-ENV-MIB::vmwEnvSource.0")
	if got := walkNames(walked); !slices.Equal(got, envNames) {
		t.Errorf("vmwEnv:\n%v\nwant\n%v", got, envNames)
	}
	wantWalkValues(t, "vmwEnv", walkMap(walked), map[string]string{
		"VMWARE-ENV-MIB::vmwEnvNumber.0":        "INTEGER: 1",
		"VMWARE-ENV-MIB::vmwEnvLastChange.0":    `~Timeticks: \(\d+\) .*`,
		"VMWARE-ENV-MIB::vmwSubsystemType.1":    "INTEGER: temperatureSensor(8)",
		"VMWARE-ENV-MIB::vmwHardwareStatus.1":   "INTEGER: critical(4)",
		"VMWARE-ENV-MIB::vmwEventDescription.1": `~STRING: .*Package id 0.*`,
		"VMWARE-ENV-MIB::vmwEnvHardwareTime.1":  `~STRING: \d{4}-\d{1,2}-\d{1,2},\d{1,2}:\d{1,2}:\d{1,2}\.\d,[+-]\d{1,2}:\d{1,2}`,
		"VMWARE-ENV-MIB::vmwEnvSource.0":        "INTEGER: sensors(2)",
	})

	// The whole enterprise subtree in one walk: the subtrees above, in
	// OID order, and nothing else.
	whole := walkNames(a.walk(t, sec, "VMWARE-ROOT-MIB::vmware"))
	if want := slices.Concat(vmware["vmwSystem"], vmware["vmwVmTable"], vmware["vmwVmNetTable"], vmware["vmwResources"], vmware["vmwEnv"]); !slices.Equal(whole, want) {
		t.Errorf("walk of VMWARE-ROOT-MIB::vmware:\n%v\nwant\n%v", whole, want)
	}

	// Every enterprise subtree: snmpd's own UCD-SNMP-MIB (2021) before
	// hostagent's (6876) and NET-SNMP-MIB (8072) after it, so that the
	// walks cross into the subagent's range and out of it again, in order
	// and with the VMware objects whole.
	var inside []string
	for _, n := range walkNames(a.walk(t, sec, "SNMPv2-SMI::enterprises")) {
		if strings.HasPrefix(n, "VMWARE-") {
			inside = append(inside, n)
		}
	}
	if !slices.Equal(inside, whole) {
		t.Errorf("walk of enterprises holds these VMware objects:\n%v\nwant\n%v", inside, whole)
	}
	return vmware
}

// checkWalkProcessors: hrProcessorTable has a row per processor of
// hrDeviceTable, one per CPU the kernel lists. hrProcessorLoad is snmpd's
// average over the last minute: snmpd serves none in its first minute
// (its rows hold only hrProcessorFrwID then), and these tests do not wait
// a minute, so it is checked only when served.
func checkWalkProcessors(t *testing.T, a walkAgent, sec []string) {
	t.Helper()
	procs := walkMap(a.walk(t, sec, "HOST-RESOURCES-MIB::hrProcessorTable"))
	var cpus []string
	for _, o := range a.walk(t, sec, "HOST-RESOURCES-MIB::hrDeviceType") {
		if o.Value == "OID: HOST-RESOURCES-TYPES::hrDeviceProcessor" {
			cpus = append(cpus, strings.TrimPrefix(o.Name, "HOST-RESOURCES-MIB::hrDeviceType."))
		}
	}
	if n := walkHostCPUs(t); len(cpus) != n {
		t.Errorf("hrDeviceTable lists %d processors %v; /proc/cpuinfo %d", len(cpus), cpus, n)
	}
	for _, n := range cpus {
		wantWalkValues(t, "hrProcessorTable", procs, map[string]string{"HOST-RESOURCES-MIB::hrProcessorFrwID." + n: "OID: SNMPv2-SMI::zeroDotZero"})
		if v, ok := procs["HOST-RESOURCES-MIB::hrProcessorLoad."+n]; ok && !regexp.MustCompile(`^INTEGER: \d+$`).MatchString(v) {
			t.Errorf("hrProcessorLoad.%s = %q", n, v)
		}
	}
	if len(procs) != len(cpus) && len(procs) != 2*len(cpus) {
		t.Errorf("hrProcessorTable holds other objects than hrProcessorFrwID and hrProcessorLoad of %v: %v", cpus, procs)
	}
}

// walkHostCPUs counts the processors /proc/cpuinfo lists, the ones
// snmpd lists in hrDeviceTable.
func walkHostCPUs(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	return len(regexp.MustCompile(`(?m)^processor\s*:`).FindAll(b, -1))
}

// walkHostMemTotal is the kernel's MemTotal in kB, the memTotalReal snmpd
// serves.
func walkHostMemTotal(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^MemTotal:\s+(\d+) kB$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no MemTotal in /proc/meminfo:\n%s", b)
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// walkWeb02XML is a domain defined beside the test driver's own, not
// started: a libosinfo guest OS and two network adapters, the first on a
// bridge.
const walkWeb02XML = `<domain type='test'><name>web02</name><memory unit='MiB'>512</memory><vcpu>1</vcpu>
<metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata>
<os><type>hvm</type></os><devices>
<interface type='bridge'><mac address='52:54:00:12:34:56'/><source bridge='br0'/></interface>
<interface type='network'><mac address='52:54:00:12:34:57'/><source network='default'/></interface>
</devices></domain>`

// defineWeb02 defines web02 and waits until polls see it (vmid 2).
func (a walkAgent) defineWeb02(t *testing.T) {
	t.Helper()
	xml := filepath.Join(t.TempDir(), "web02.xml")
	writeFile(t, xml, walkWeb02XML)
	a.lv.Virsh(t, "define", xml)
	walkWaitGet(t, a.addr, walkV2c, 10*time.Second, "web02 in vmwVmTable", func(got map[string]string) bool {
		return got["VMWARE-VMINFO-MIB::vmwVmDisplayName.2"] == "STRING: web02" && strings.HasPrefix(got["VMWARE-VMINFO-MIB::vmwVmMAC.2.2"], "STRING: ")
	}, "VMWARE-VMINFO-MIB::vmwVmDisplayName.2", "VMWARE-VMINFO-MIB::vmwVmMAC.2.2")
}

// TestPollingWalks walks every subtree the issue names, over v2c and over
// SNMPv3 authPriv (SHA-256, AES-128, a user set through vicfg-snmp), each
// with snmpwalk, snmpwalk -Cc and snmpbulkwalk, values decoded by name
// with the MIB files: the standard groups LibreNMS and Zabbix read, from
// snmpd (system group with hostagent's settings, IF-MIB names, status and
// HC counters of every interface, hrStorageTable, hrProcessorTable, UCD
// memory and laLoad), and the VMware MIBs, from hostagent's collectors
// (VMWARE-SYSTEM-MIB, vmwVmTable columns 2-6 and 8-10 and vmwVmNetTable
// of two domains, VMWARE-RESOURCES-MIB on a fixture /proc, VMWARE-ENV-MIB
// with a sensor over its critical limit); every walk complete and in
// order; the two security models see the same VMware objects.
func TestPollingWalks(t *testing.T) {
	a := startWalkAgent(t, walkSetup{vms: true, resources: true, sensorMilli: 97000})
	a.defineWeb02(t)
	walkWaitGet(t, a.addr, walkV2c, 10*time.Second, "the resources and the hot sensor served", func(got map[string]string) bool {
		return got["VMWARE-RESOURCES-MIB::vmwNumCPUs.0"] == "Gauge32: 2" && got["VMWARE-ENV-MIB::vmwHardwareStatus.1"] == "INTEGER: critical(4)"
	}, "VMWARE-RESOURCES-MIB::vmwNumCPUs.0", "VMWARE-ENV-MIB::vmwHardwareStatus.1")
	began := time.Now()
	overV2c := checkWalkTrees(t, a, walkV2c)
	t.Logf("v2c walks: %v", time.Since(began).Round(time.Millisecond))

	v3 := a.addV3User(t)
	began = time.Now()
	overV3 := checkWalkTrees(t, a, v3)
	t.Logf("SNMPv3 authPriv walks: %v", time.Since(began).Round(time.Millisecond))
	for root, names := range overV2c {
		if !slices.Equal(overV3[root], names) {
			t.Errorf("%s over SNMPv3: %v\nover v2c: %v", root, overV3[root], names)
		}
	}
}

// TestPollingWrongCredentials: a wrong community, and SNMPv3 requests with
// a wrong authentication key, a wrong privacy key, an unknown user or a
// lower security level than the user's, get no value (a v2c request no
// answer at all; a v3 one at most the USM's report, RFC 3414 3.2), while
// the right ones are answered.
func TestPollingWrongCredentials(t *testing.T) {
	a := startWalkAgent(t, walkSetup{})
	v3 := a.addV3User(t)
	// Short timeouts: no answer is the expected outcome.
	quick := func(sec []string, client string, oid string) (string, error) {
		return peertest.NetSNMP(t, client, slices.Concat(sec, []string{"-t", "1", "-r", "0", a.addr, oid})...)
	}
	with := func(sec []string, opt, value string) []string {
		out := slices.Clone(sec)
		out[slices.Index(out, opt)+1] = value
		return out
	}
	const oid = "VMWARE-SYSTEM-MIB::vmwProdName.0"
	for _, c := range []struct {
		what string
		sec  []string
		err  string // what the client says
	}{
		{"a wrong community", []string{"-v2c", "-c", "private"}, "Timeout: No Response from " + a.addr},
		{"a wrong community over SNMPv1", []string{"-v1", "-c", "Public"}, "Timeout: No Response from " + a.addr},
		{"a wrong authentication key", with(v3, "-A", "wrong-auth-secret"), "Authentication failure"},
		{"a wrong privacy key", with(v3, "-X", "wrong-priv-secret"), "Timeout: No Response from " + a.addr}, // undecryptable: dropped
		{"an unknown user", with(v3, "-u", "nobody"), "Unknown user name"},
		{"authNoPriv for an authPriv user", with(v3, "-l", "authNoPriv"), "authorizationError"}, // VACM: authPriv only
	} {
		for _, client := range []string{"snmpget", "snmpwalk", "snmpbulkwalk"} {
			if client == "snmpbulkwalk" && c.sec[0] == "-v1" {
				continue // no GETBULK in SNMPv1
			}
			root := oid
			if client != "snmpget" {
				root = "VMWARE-ROOT-MIB::vmware"
			}
			out, err := quick(c.sec, client, root)
			switch {
			case err == nil || strings.Contains(out, "hostagent"):
				t.Errorf("%s: %s answered: %q", c.what, client, out)
			case !strings.Contains(err.Error(), c.err):
				t.Errorf("%s: %s failed otherwise than with %q: %v", c.what, client, c.err, err)
			default:
				t.Logf("%s: %s: %s", c.what, client, walkLastLine(err.Error()))
			}
		}
	}
	for _, sec := range [][]string{walkV2c, {"-v1", "-c", "public"}, v3} {
		if got, err := a.get(t, sec, oid); err != nil || got[oid] != "STRING: hostagent" {
			t.Errorf("%v not answered: %v %v", sec[:2], got, err)
		}
	}
}

func walkLastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// TestPollingSensorThreshold: a fixture sensor crossing its critical limit
// shows in vmwEnvTable through snmpd at the index its notification
// carried, within a few of the collector's 1 s passes, with vmwEnvNumber
// counting the row; back under the limit, the row moves to the new
// event's index, normal, and its old index is gone.
func TestPollingSensorThreshold(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	a := startWalkAgent(t, walkSetup{sensorMilli: 50000, snmpExtra: fmt.Sprintf("targets = [\"127.0.0.1@%d\"]\n", trapd.Port())})
	trapd.WaitTraps(t, 1, 10*time.Second) // coldStart

	// Normal: no event, no row.
	env := walkMap(a.walk(t, walkV2c, "VMWARE-ENV-MIB::vmwEnv"))
	if len(env) != 3 || env["VMWARE-ENV-MIB::vmwEnvNumber.0"] != "INTEGER: 0" || env["VMWARE-ENV-MIB::vmwEnvSource.0"] != "INTEGER: sensors(2)" {
		t.Errorf("vmwEnv with every sensor normal: %v", env)
	}

	// event is the index and status a vmwESXEnvHardwareEvent carried.
	event := func(tr peertest.Trap) (index, status string) {
		t.Helper()
		if tr.TrapOID != "VMWARE-ENV-MIB::vmwESXEnvHardwareEvent" {
			t.Fatalf("notification %s, want vmwESXEnvHardwareEvent:\n%s", tr.TrapOID, tr.Raw)
		}
		for _, v := range tr.VarBinds {
			if i, ok := strings.CutPrefix(v.Name, "VMWARE-ENV-MIB::vmwHardwareStatus."); ok {
				return i, v.Value
			}
		}
		t.Fatalf("no vmwHardwareStatus in\n%s", tr.Raw)
		return "", ""
	}
	columns := func(n string) []string {
		return []string{"VMWARE-ENV-MIB::vmwEnvNumber.0", "VMWARE-ENV-MIB::vmwHardwareStatus." + n, "VMWARE-ENV-MIB::vmwSubsystemType." + n, "VMWARE-ENV-MIB::vmwEventDescription." + n}
	}

	setWalkSensor(t, a.dir, 97000) // over temp1_crit, 95000
	hot := time.Now()
	n, status := event(trapd.WaitTraps(t, 2, 10*time.Second)[1])
	if status != "critical(4)" {
		t.Errorf("notification of the hot sensor: status %s", status)
	}
	got := walkWaitGet(t, a.addr, walkV2c, 10*time.Second, "the critical sensor in vmwEnvTable at the notification's index "+n, func(got map[string]string) bool {
		return got["VMWARE-ENV-MIB::vmwHardwareStatus."+n] == "INTEGER: critical(4)"
	}, columns(n)...)
	t.Logf("critical in vmwEnvTable %v after temp1_input was written", time.Since(hot).Round(time.Millisecond))
	wantWalkValues(t, "hot sensor", got, map[string]string{
		"VMWARE-ENV-MIB::vmwEnvNumber.0":           "INTEGER: 1",
		"VMWARE-ENV-MIB::vmwSubsystemType." + n:    "INTEGER: temperatureSensor(8)",
		"VMWARE-ENV-MIB::vmwEventDescription." + n: `~STRING: .*Package id 0.*`,
	})

	setWalkSensor(t, a.dir, 50000)
	m, status := event(trapd.WaitTraps(t, 3, 10*time.Second)[2])
	if status != "normal(2)" || m == n {
		t.Errorf("notification of the sensor back to normal: index %s (the hot one's %s), status %s", m, n, status)
	}
	got = walkWaitGet(t, a.addr, walkV2c, 10*time.Second, "the sensor normal in vmwEnvTable at the new index "+m, func(got map[string]string) bool {
		return got["VMWARE-ENV-MIB::vmwHardwareStatus."+m] == "INTEGER: normal(2)"
	}, columns(m)...)
	wantWalkValues(t, "sensor back to normal", got, map[string]string{"VMWARE-ENV-MIB::vmwEnvNumber.0": "INTEGER: 1"})
	rows := walkNames(a.walk(t, walkV2c, "VMWARE-ENV-MIB::vmwHardwareStatus"))
	if want := []string{"VMWARE-ENV-MIB::vmwHardwareStatus." + m}; !slices.Equal(rows, want) {
		t.Errorf("vmwHardwareStatus column: %v, want %v", rows, want)
	}
}

// walkSnmpdChildren are the command lines of the snmpd processes this
// test process started (hostagent's private snmpd would be one: the
// daemon runs in it), by pid.
func walkSnmpdChildren(t *testing.T) map[int]string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	pids := map[int]string{}
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(b[end+1:]))
		if string(b[open+1:end]) != "snmpd" || len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:open])))
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
		pids[pid] = strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " ")
	}
	return pids
}

// TestPollingThroughTheSystemsSnmpd: with polling = "system", hostagent
// starts no snmpd of its own and serves the VMware MIBs as a subagent of
// the system's snmpd at agentx_socket (peertest.StartSnmpd plays it,
// configured by the host's admin: its own port, communities and
// sysContact): that snmpd answers vmwProdName and walks vmwSystem; --show
// says so; the subagent attaches again when the system's snmpd restarts.
func TestPollingThroughTheSystemsSnmpd(t *testing.T) {
	sys := peertest.StartSnmpd(t)
	dir := t.TempDir()
	writeConfig(t, dir, fmt.Sprintf("enabled = true\npolling = \"system\"\nagentx_socket = %q\ncommunities = [\"public\"]\nsyscontact = \"noc@example.com\"\n", sys.Socket()))
	writeFile(t, filepath.Join(dir, "etc", daemon.CollectorsFile), noCollectors)
	r := start(t, dir)
	waitFor(t, "the subagent attached to the system's snmpd", func() bool {
		p := r.daemon.SNMPState().Polling
		return p.On && p.SubagentConnected
	})
	p := r.daemon.SNMPState().Polling
	if p.Mode != "system" || p.PID != 0 || p.Listen != "" || p.Master != sys.Socket() {
		t.Errorf("polling state %+v: want mode system, no snmpd of hostagent's, master %s", p, sys.Socket())
	}
	// The only snmpd this process started is the system's (its command
	// line names its configuration, beside its socket).
	children := walkSnmpdChildren(t)
	for _, cmdline := range children {
		if len(children) != 1 || !strings.Contains(cmdline, filepath.Dir(sys.Socket())+"/") {
			t.Errorf("snmpd processes started by this test process: %v; want only the system's, in %s", children, filepath.Dir(sys.Socket()))
			break
		}
	}
	if len(children) == 0 {
		t.Error("no snmpd child found, not even the system's: walkSnmpdChildren is broken")
	}
	code, show, _ := r.cli(t, "--show")
	if want := "Polling  : on, through the system's snmpd (AgentX " + sys.Socket() + "; "; code != 0 || !strings.Contains(show, want) {
		t.Errorf("--show lacks %q:\n%s", want, show)
	}

	got, err := walkGet(t, sys.Addr(), walkV2c, "VMWARE-SYSTEM-MIB::vmwProdName.0", "SNMPv2-MIB::sysContact.0")
	if err != nil {
		t.Fatal(err)
	}
	// The system's sysContact, not hostagent's: that snmpd answers.
	wantWalkValues(t, "the system's snmpd", got, map[string]string{
		"VMWARE-SYSTEM-MIB::vmwProdName.0": "STRING: hostagent",
		"SNMPv2-MIB::sysContact.0":         "STRING: test@example.invalid",
	})
	walked := walkNames(walkAt(t, sys.Addr(), walkV2c, "VMWARE-ROOT-MIB::vmwSystem"))
	if want := []string{"VMWARE-SYSTEM-MIB::vmwProdName.0", "VMWARE-SYSTEM-MIB::vmwProdVersion.0", "VMWARE-SYSTEM-MIB::vmwProdBuild.0"}; !slices.Equal(walked, want) {
		t.Errorf("vmwSystem through the system's snmpd: %v, want %v", walked, want)
	}

	// The system's snmpd restarted (a package upgrade): the subagent
	// attaches again by itself.
	sys.Restart(t)
	walkWaitGet(t, sys.Addr(), walkV2c, 30*time.Second, "vmwProdName answered after the system's snmpd restarted", func(got map[string]string) bool {
		return got["VMWARE-SYSTEM-MIB::vmwProdName.0"] == "STRING: hostagent"
	}, "VMWARE-SYSTEM-MIB::vmwProdName.0")
	if p := r.daemon.SNMPState().Polling; !p.On || !p.SubagentConnected || p.PID != 0 {
		t.Errorf("polling state after the restart %+v", p)
	}
}

// walkPysnmpScript is a v2c GETBULK walk with pysnmp's hlapi (5 repetitions, the
// subtree only: lexicographicMode=False; no MIB lookup, so names stay
// numeric and values are the types the agent sent), printed one variable
// a line: OID, pysnmp's type, value.
const walkPysnmpScript = `import sys
from pysnmp.hlapi import (SnmpEngine, CommunityData, UdpTransportTarget,
                          ContextData, ObjectType, ObjectIdentity, bulkCmd)

host, port, community, root = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for err_ind, err_stat, err_idx, var_binds in bulkCmd(
        SnmpEngine(), CommunityData(community, mpModel=1),
        UdpTransportTarget((host, port), timeout=3, retries=1), ContextData(),
        0, 5, ObjectType(ObjectIdentity(root)),
        lexicographicMode=False, lookupMib=False):
    if err_ind:
        sys.exit('pysnmp: %s' % err_ind)
    if err_stat:
        sys.exit('pysnmp: %s at %s' % (err_stat.prettyPrint(), err_idx))
    for name, value in var_binds:
        print('%s %s %s' % (name.prettyPrint(), type(value).__name__, value.prettyPrint()))
`

// TestPollingWalkCrossCheckedWithPysnmp: pysnmp's GETBULK walk of
// vmwVmTable finds the same objects, in the same order, with the same
// types and values as snmpbulkwalk's: another SNMP stack reads what
// snmpd and the subagent serve alike.
func TestPollingWalkCrossCheckedWithPysnmp(t *testing.T) {
	py := peertest.RequirePythonModule(t, "pysnmp", "python3-pysnmp4")
	a := startWalkAgent(t, walkSetup{vms: true})
	a.defineWeb02(t)
	const vmwVmTable = "1.3.6.1.4.1.6876.2.1"

	// net-snmp: numeric names, no UNITS; "TYPE: value", strings of an
	// OCTET STRING syntax quoted.
	out, err := peertest.NetSNMP(t, "snmpbulkwalk", slices.Concat(walkV2c, walkPollOpts, []string{"-Cr5", "-On", "-OU", a.addr, vmwVmTable})...)
	if err != nil {
		t.Fatal(err)
	}
	var netsnmp []string
	for _, o := range parseWalkObjects(t, out) {
		typ, v, _ := strings.Cut(o.Value, ": ")
		if len(v) >= 2 && strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
			v = v[1 : len(v)-1]
		}
		netsnmp = append(netsnmp, strings.TrimPrefix(o.Name, ".")+" "+typ+" "+v)
	}

	script := filepath.Join(t.TempDir(), "pysnmp_walk.py")
	writeFile(t, script, walkPysnmpScript)
	host, port, _ := net.SplitHostPort(a.addr)
	cmd := exec.Command(py, script, host, port, "public", vmwVmTable)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("pysnmp walk: %v\n%s", err, stderr.String())
	}
	// pysnmp's types as net-snmp names them.
	types := map[string]string{"Integer": "INTEGER", "Integer32": "INTEGER", "OctetString": "STRING"}
	var pysnmp []string
	for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		oid, rest, _ := strings.Cut(line, " ")
		typ, v, _ := strings.Cut(rest, " ")
		if n, ok := types[typ]; ok {
			typ = n
		}
		pysnmp = append(pysnmp, oid+" "+typ+" "+v)
	}
	if want := 2 * len(walkVMColumns); len(netsnmp) != want {
		t.Errorf("snmpbulkwalk found %d objects, want %d (2 VMs):\n%s", len(netsnmp), want, strings.Join(netsnmp, "\n"))
	}
	if !slices.Equal(pysnmp, netsnmp) {
		t.Errorf("pysnmp's walk:\n%s\nsnmpbulkwalk's:\n%s", strings.Join(pysnmp, "\n"), strings.Join(netsnmp, "\n"))
	}
	t.Logf("pysnmp and snmpbulkwalk agree on %d objects, e.g. %q", len(pysnmp), pysnmp[0])
}
