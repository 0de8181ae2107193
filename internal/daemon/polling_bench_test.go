package daemon_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"github.com/gosnmp/gosnmp"

	"hostagent/collectors"
	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/snmpagent/agentx"
	"hostagent/snmpagent/mibview"
)

// The polling benchmarks: what a manager's walk of vmwVmTable costs when
// it goes through net-snmp's snmpd (the master) to hostagent (the AgentX
// subagent), side by side with a table snmpd serves itself, in one run;
// then hostagent's side alone, to show where the time goes.

const (
	benchVMs = 1000
	// vmwVmTable's subtree; vmwVmNetTable (.2.4) is empty here: the
	// benchmark's domains have no network adapter.
	benchVMTable = ".1.3.6.1.4.1.6876.2.1"
	// hrSWInstalledTable (HOST-RESOURCES-MIB), served by snmpd itself from
	// the package database: about 5 objects per installed package, i.e.
	// thousands on a Debian host.
	benchNativeTable = ".1.3.6.1.2.1.25.6.3"
	benchSysUpTime   = ".1.3.6.1.2.1.1.3.0"
)

// benchVMColumns are vmwVmTable's served columns (VMWARE-VMINFO-MIB), the
// ones a table tool asks for in each request.
var benchVMColumns = []string{
	benchVMTable + ".1.2", benchVMTable + ".1.3", benchVMTable + ".1.4", benchVMTable + ".1.5",
	benchVMTable + ".1.6", benchVMTable + ".1.8", benchVMTable + ".1.9", benchVMTable + ".1.10",
}

// BenchmarkPolling1000VMs runs a daemon with polling through its private
// snmpd and the VM collector on libvirtd's test driver holding 1,000
// domains (every tenth running), then measures in each iteration, one
// after the other:
//
//   - vm-walk: snmpbulkwalk -v2c -Cr50 of vmwVmTable (8,000 objects, through
//     the subagent);
//   - native-walk: the same walk of hrSWInstalledTable (snmpd's own);
//   - snmptable: snmptable -v2c -Cb of vmwVmTable (GETBULKs of one varbind,
//     max-repetitions 10, the tool's default: a walk of the entry), and
//     with -CB (GETNEXTs of every column, one row a request);
//   - bulkget: GETBULKs of the 8 columns, max-repetitions 10 and 50, from
//     this process (no client start-up): a table fetch that puts several
//     varbinds in each AgentX request;
//   - client: snmpget of sysUpTime.0, i.e. what starting a client and one
//     round trip cost, included in every client's figure above.
//
// Rates are varbinds over the client's wall time. The goals (issue 12):
// a subagent rate of at least half the native one, and the 1,000-VM table
// in under 200 ms.
func BenchmarkPolling1000VMs(b *testing.B) {
	env := startBenchPolling(b, benchVMs)
	want := benchVMs * len(benchVMColumns)

	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(env.port), Community: "public", Version: gosnmp.Version2c,
		Timeout: 5 * time.Second, Retries: 0, MaxOids: 100}
	if err := g.Connect(); err != nil {
		b.Fatal(err)
	}
	defer g.Conn.Close()

	if n, _ := env.walk(b, benchNativeTable); n < 1000 {
		b.Skipf("snmpd serves only %d objects of hrSWInstalledTable here: too few to compare", n)
	}
	var vmN, natN, tabRows int
	var vmD, natD, tabD, tabNextD, bulk10D, bulk50D, cliD time.Duration
	var vmSnmpd, vmSelf, natSnmpd time.Duration // CPU time during the walks
	iters := 0
	for b.Loop() {
		iters++
		s0, self0 := env.snmpdCPU(b), selfCPU()
		n, d := env.walk(b, benchVMTable)
		if n != want {
			b.Fatalf("snmpbulkwalk of vmwVmTable returned %d objects, want %d", n, want)
		}
		s1, self1 := env.snmpdCPU(b), selfCPU()
		vmN, vmD = vmN+n, vmD+d
		vmSnmpd, vmSelf = vmSnmpd+s1-s0, vmSelf+self1-self0
		n2, d2 := env.walk(b, benchNativeTable)
		natN, natD = natN+n2, natD+d2
		natSnmpd += env.snmpdCPU(b) - s1
		rows, d3 := env.snmptable(b)
		if rows != benchVMs {
			b.Fatalf("snmptable printed %d rows, want %d", rows, benchVMs)
		}
		tabRows, tabD = tabRows+rows, tabD+d3
		rows, d7 := env.snmptable(b, "-CB")
		if rows != benchVMs {
			b.Fatalf("snmptable -CB printed %d rows, want %d", rows, benchVMs)
		}
		tabNextD += d7
		d4 := bulkFetch(b, g, 10, want)
		d5 := bulkFetch(b, g, 50, want)
		bulk10D, bulk50D = bulk10D+d4, bulk50D+d5
		d6 := env.clientStart(b)
		cliD += d6
		b.Logf("vm-walk %d in %v (%.0f/s) · native-walk %d in %v (%.0f/s) · ratio %.2f · snmptable %v, -CB %v · bulkget r10 %v r50 %v · client %v",
			n, d.Round(time.Millisecond), float64(n)/d.Seconds(), n2, d2.Round(time.Millisecond), float64(n2)/d2.Seconds(),
			(float64(n)/d.Seconds())/(float64(n2)/d2.Seconds()), d3.Round(time.Millisecond), d7.Round(time.Millisecond), d4.Round(time.Millisecond),
			d5.Round(time.Millisecond), d6.Round(time.Millisecond))
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(iters) }
	vm, nat := float64(vmN)/vmD.Seconds(), float64(natN)/natD.Seconds()
	b.ReportMetric(vm, "vm-varbinds/s")
	b.ReportMetric(nat, "native-varbinds/s")
	b.ReportMetric(vm/nat, "ratio")
	b.ReportMetric(ms(vmD), "vm-walk-ms")
	b.ReportMetric(ms(natD), "native-walk-ms")
	b.ReportMetric(float64(natN)/float64(iters), "native-varbinds/walk")
	b.ReportMetric(ms(tabD), "snmptable-ms")
	b.ReportMetric(ms(tabNextD), "snmptable-getnext-ms")
	b.ReportMetric(ms(bulk10D), "bulkget-r10-ms")
	b.ReportMetric(ms(bulk50D), "bulkget-r50-ms")
	b.ReportMetric(ms(cliD), "client-ms")
	us := func(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / 1000 / float64(n) }
	b.ReportMetric(us(vmSnmpd, vmN), "snmpd-cpu-µs/vm-varbind")
	b.ReportMetric(us(vmSelf, vmN), "hostagent-cpu-µs/vm-varbind")
	b.ReportMetric(us(natSnmpd, natN), "snmpd-cpu-µs/native-varbind")
}

// snmpdCPU is the CPU time the private snmpd (one thread) has used, from
// the scheduler's own count (nanoseconds, unlike /proc/PID/stat's ticks).
func (e *benchPolling) snmpdCPU(b *testing.B) time.Duration {
	b.Helper()
	pid := e.daemon.SNMPState().Polling.PID
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		b.Fatalf("snmpd's CPU time: %v", err)
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		b.Fatalf("/proc/%d/schedstat: %q", pid, raw)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		b.Fatalf("/proc/%d/schedstat: %v", pid, err)
	}
	return time.Duration(ns)
}

// selfCPU is this process's user and system time: the daemon, with its
// subagent, runs in it.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPolling is a running daemon whose private snmpd answers on port.
type benchPolling struct {
	daemon  *daemon.Daemon
	port    int
	addr    string
	mibDir  string
	confDir string // an empty SNMPCONFPATH for the clients
}

// startBenchPolling starts libvirtd's test driver with vms domains in all,
// and a daemon with polling and the VM collector on it, and waits until
// every domain's row is served through the subagent.
func startBenchPolling(b *testing.B, vms int) *benchPolling {
	b.Helper()
	peertest.RequireCommand(b, "snmpd", "snmpd")
	peertest.RequireCommand(b, "snmptable", "snmp")
	lv := peertest.StartLibvirtd(b)
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(lv.Socket())))
	if err := l.ConnectToURI("test:///default"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Disconnect() })
	// The test driver starts with one running domain, "test".
	for i := range vms - 1 {
		xml := fmt.Sprintf("<domain type='test'><name>bench%04d</name><memory unit='MiB'>512</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>", i)
		d, err := l.DomainDefineXML(xml)
		if err != nil {
			b.Fatalf("define domain %d: %v", i, err)
		}
		if i%10 == 0 {
			if err := l.DomainCreate(d); err != nil {
				b.Fatalf("start domain %d: %v", i, err)
			}
		}
	}

	port, err := peertest.FreeUDPPort()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	benchWrite(b, filepath.Join(dir, "etc", daemon.SNMPFile), fmt.Sprintf(
		"enabled = true\npolling = \"private\"\nlisten_address = \"127.0.0.1\"\nport = %d\ncommunities = [\"public\"]\n", port))
	benchWrite(b, filepath.Join(dir, "etc", daemon.CollectorsFile), fmt.Sprintf(
		"[vms]\nenabled = true\nuri = \"test:///default\"\nsocket = %q\n[sensors]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n", lv.Socket()))
	log := &peertest.Buffer{}
	d := daemon.New(daemon.Options{
		ConfigDir: filepath.Join(dir, "etc"), StateDir: filepath.Join(dir, "state"), APISocket: filepath.Join(dir, "api.sock"),
		Paths:    collectors.Paths{ProcFS: filepath.Join(dir, "proc"), SysFS: filepath.Join(dir, "sys")},
		Defaults: testDefaults(b, dir),
	}, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
		if b.Failed() {
			b.Logf("daemon log:\n%s", log)
		}
	})
	select {
	case <-d.Ready():
	case err := <-done:
		b.Fatalf("daemon did not start: %v\n%s", err, log)
	case <-time.After(2 * time.Minute):
		b.Fatalf("daemon not ready after 2 minutes\n%s", log)
	}
	// Every row: 8 columns per domain, besides the product's scalars.
	peertest.Eventually(b, 2*time.Minute, "every domain's row served through the subagent", func() bool {
		p := d.SNMPState().Polling
		return p.On && p.SubagentConnected && p.Objects >= vms*len(benchVMColumns)
	})
	conf := b.TempDir()
	return &benchPolling{daemon: d, port: port, addr: "127.0.0.1:" + strconv.Itoa(port), mibDir: peertest.MIBDir(b), confDir: conf}
}

// run runs a net-snmp client with no configuration but the test's and
// returns its output and wall time (process start-up included, as a NOC's
// script pays it).
func (e *benchPolling) run(b *testing.B, client string, args ...string) (string, time.Duration) {
	b.Helper()
	c := exec.Command(client, args...)
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.confDir, "SNMPCONFPATH=" + e.confDir}
	var out, errOut strings.Builder
	c.Stdout, c.Stderr = &out, &errOut
	start := time.Now()
	err := c.Run()
	d := time.Since(start)
	if err != nil || errOut.Len() > 0 {
		b.Fatalf("%s %s: %v\n%s%s", client, strings.Join(args, " "), err, errOut.String(), out.String())
	}
	return out.String(), d
}

// walk is snmpbulkwalk -v2c -Cr50 of oid, numeric (no MIB loaded): the
// number of varbinds and the time.
func (e *benchPolling) walk(b *testing.B, oid string) (int, time.Duration) {
	b.Helper()
	out, d := e.run(b, "snmpbulkwalk", "-m", "", "-v2c", "-c", "public", "-t", "5", "-r", "0", "-Cr50", "-On", e.addr, oid)
	n := 0
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, oid+".") { // continuation lines of long values do not start with the OID
			n++
		}
	}
	return n, d
}

// snmptable fetches vmwVmTable with net-snmp's table tool, which loads the
// MIB module for the columns' names. Over v2c it walks the table's entry
// with GETBULKs of one varbind (max-repetitions 10), column after column,
// the MIB's obsolete vmwVmVMID included; with -CB it sends GETNEXTs of
// every column, one row a request.
func (e *benchPolling) snmptable(b *testing.B, opts ...string) (int, time.Duration) {
	b.Helper()
	args := append([]string{"-M", e.mibDir, "-m", "VMWARE-VMINFO-MIB", "-v2c", "-c", "public", "-t", "5", "-r", "0",
		"-Cb", "-Cf", "\t", "-CH"}, opts...)
	out, d := e.run(b, "snmptable", append(args, e.addr, "VMWARE-VMINFO-MIB::vmwVmTable")...)
	rows := 0
	for line := range strings.Lines(out) {
		// Every column of the MIB, vmwVmVMID (obsolete, not served) as "?".
		if strings.Count(line, "\t") >= len(benchVMColumns)-1 {
			rows++
		}
	}
	if rows == 0 {
		b.Logf("snmptable printed:\n%.2000s", out)
	}
	return rows, d
}

// clientStart is snmpget of sysUpTime.0: a client's start-up and one round
// trip to snmpd, which every client figure includes.
func (e *benchPolling) clientStart(b *testing.B) time.Duration {
	b.Helper()
	_, d := e.run(b, "snmpget", "-m", "", "-v2c", "-c", "public", "-t", "5", "-r", "0", "-On", e.addr, benchSysUpTime)
	return d
}

// bulkFetch reads vmwVmTable with GETBULKs of every column, reps rows a
// request, from this process, and checks it got want varbinds.
func bulkFetch(b *testing.B, g *gosnmp.GoSNMP, reps uint32, want int) time.Duration {
	b.Helper()
	start := time.Now()
	type column struct{ prefix, next string }
	cur := make([]column, len(benchVMColumns))
	for i, c := range benchVMColumns {
		cur[i] = column{c + ".", c}
	}
	got := 0
	for len(cur) > 0 {
		oids := make([]string, len(cur))
		for i, c := range cur {
			oids[i] = c.next
		}
		pkt, err := g.GetBulk(oids, 0, reps)
		if err != nil {
			b.Fatalf("GETBULK of %d columns: %v", len(cur), err)
		}
		vbs := pkt.Variables
		if len(vbs) < len(cur) {
			b.Fatalf("GETBULK answered %d varbinds for %d columns", len(vbs), len(cur))
		}
		// The answer is rows of one varbind per column asked; a column
		// is done at the first varbind past it.
		ended := make([]bool, len(cur))
		for i := 0; i+len(cur) <= len(vbs); i += len(cur) {
			for j := range cur {
				vb := vbs[i+j]
				if ended[j] || vb.Type == gosnmp.EndOfMibView || !strings.HasPrefix(vb.Name, cur[j].prefix) {
					ended[j] = true
					continue
				}
				cur[j].next = vb.Name
				got++
			}
		}
		var live []column
		for j, c := range cur {
			if !ended[j] {
				live = append(live, c)
			}
		}
		cur = live
	}
	d := time.Since(start)
	if got != want {
		b.Fatalf("GETBULK fetch of vmwVmTable got %d varbinds, want %d", got, want)
	}
	return d
}

func benchWrite(b *testing.B, path, body string) {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o640); err != nil {
		b.Fatal(err)
	}
}

// benchView is a view holding what the VM collector publishes for n
// domains (the shape of collectors/vms/table.go's rows, none with a
// network adapter), and the product's scalars.
func benchView(n int) *mibview.View {
	v := mibview.New()
	entry := mibs.MustOID("1.3.6.1.4.1.6876.2.1.1")
	var vbs []mibs.VarBind
	str := func(o mibs.OID, s string) {
		vbs = append(vbs, mibs.VarBind{OID: o, Syntax: mibs.OctetString, Bytes: []byte(s)})
	}
	num := func(o mibs.OID, i int64) { vbs = append(vbs, mibs.VarBind{OID: o, Syntax: mibs.Integer, Int: i}) }
	for id := uint32(1); id <= uint32(n); id++ {
		name := fmt.Sprintf("bench%04d", id)
		str(entry.Append(2, id), name)
		str(entry.Append(3, id), "/etc/libvirt/qemu/"+name+".xml")
		str(entry.Append(4, id), "E: guest OS unknown (no libosinfo metadata in the domain's XML)")
		num(entry.Append(5, id), 512)
		str(entry.Append(6, id), "powered off")
		str(entry.Append(8, id), "notRunning")
		num(entry.Append(9, id), 2)
		str(entry.Append(10, id), fmt.Sprintf("6695eb01-f6a4-8304-79aa-97f2502e%04d", id))
	}
	v.Publish("vms", vbs)
	v.Publish("system", []mibs.VarBind{
		{OID: mibs.MustOID("1.3.6.1.4.1.6876.1.1.0"), Syntax: mibs.OctetString, Bytes: []byte("hostagent")},
		{OID: mibs.MustOID("1.3.6.1.4.1.6876.1.2.0"), Syntax: mibs.OctetString, Bytes: []byte("1.0")},
		{OID: mibs.MustOID("1.3.6.1.4.1.6876.1.4.0"), Syntax: mibs.OctetString, Bytes: []byte("0")},
	})
	return v
}

// BenchmarkPollingView is hostagent's own cost per object of the 1,000-VM
// table, with no socket: Next (a walk's step, with the range end the
// master sends) and Get.
func BenchmarkPollingView(b *testing.B) {
	v := benchView(benchVMs)
	table := mibs.MustOID(benchVMTable[1:])
	end := mibs.MustOID("1.3.6.1.4.1.6877") // the registered subtree's end
	b.Run("Next", func(b *testing.B) {
		objs := 0
		for b.Loop() {
			from, include := table, false
			for {
				vb, ok := v.Next(from, include, end)
				if !ok || !vb.OID.HasPrefix(table) {
					break
				}
				from = vb.OID
				objs++
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(objs), "ns/object")
	})
	b.Run("Get", func(b *testing.B) {
		var oids []mibs.OID
		from := table
		for {
			vb, ok := v.Next(from, false, end)
			if !ok || !vb.OID.HasPrefix(table) {
				break
			}
			oids = append(oids, vb.OID)
			from = vb.OID
		}
		objs := 0
		for b.Loop() {
			for _, o := range oids {
				if _, ok := v.Get(o); !ok {
					b.Fatalf("Get(%s) found nothing", o)
				}
				objs++
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(objs), "ns/object")
	})
}

// BenchmarkPollingAgentXRoundTrip is hostagent's side of one AgentX round
// trip: a master in this process (a minimal one, on a Unix socket as
// snmpd's) sends GetNext-PDUs to the subagent serving the 1,000-VM view and
// reads the answers, walking vmwVmTable. "ranges=1" is a bulkwalk's step
// (what net-snmp's master sends per repetition), "ranges=8" a table tool's
// (one row). "echo" is the floor of the same exchange with a peer that
// only copies the request back: two Go processes' wake-ups on a socket,
// no decoding.
func BenchmarkPollingAgentXRoundTrip(b *testing.B) {
	v := benchView(benchVMs)
	table := mibs.MustOID(benchVMTable[1:])
	for _, ranges := range []int{1, 8} {
		b.Run(fmt.Sprintf("ranges=%d", ranges), func(b *testing.B) {
			m := startBenchMaster(b, v)
			starts := make([]mibs.OID, ranges)
			reset := func() {
				for i := range starts {
					starts[i] = mibs.MustOID(benchVMColumns[i%len(benchVMColumns)][1:])
				}
			}
			reset()
			for b.Loop() {
				names := m.getNext(b, starts)
				for i, n := range names {
					if n == nil || !n.HasPrefix(table) {
						reset()
						break
					}
					starts[i] = n
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "µs/roundtrip")
		})
	}
	b.Run("echo", func(b *testing.B) {
		a, c := benchSocketPair(b)
		go func() {
			r := bufio.NewReader(c)
			hb := make([]byte, 20)
			for {
				if _, err := io.ReadFull(r, hb); err != nil {
					return
				}
				p := make([]byte, binary.BigEndian.Uint32(hb[16:]))
				if _, err := io.ReadFull(r, p); err != nil {
					return
				}
				if _, err := c.Write(append(hb, p...)); err != nil {
					return
				}
			}
		}()
		req := benchGetNextPDU(1, 1, []mibs.OID{mibs.MustOID(benchVMColumns[0][1:] + ".1")})
		r := bufio.NewReader(a)
		back := make([]byte, len(req))
		for b.Loop() {
			if _, err := a.Write(req); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(r, back); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "µs/roundtrip")
	})
}

func benchSocketPair(b *testing.B) (net.Conn, net.Conn) {
	sock := filepath.Join(b.TempDir(), "echo")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(); c.Close() })
	return a, c
}

// benchMaster is the master's end of one AgentX session, just enough of
// RFC 2741 to open it, accept one registration and send GetNext-PDUs.
type benchMaster struct {
	c      net.Conn
	r      *bufio.Reader
	packet uint32
}

const benchSession = 7

func startBenchMaster(b *testing.B, h agentx.Handler) *benchMaster {
	sock := filepath.Join(b.TempDir(), "master")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	sub, err := agentx.New(agentx.Options{Address: sock, Subtrees: []mibs.OID{mibs.MustOID("1.3.6.1.4.1.6876")},
		Handler: h, PingInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx) }()
	c, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	m := &benchMaster{c: c, r: bufio.NewReader(c)}
	for _, want := range []uint8{1, 3} { // Open, Register
		hdr, _, err := m.read()
		if err != nil || hdr[1] != want {
			b.Fatalf("AgentX session set-up: PDU type %d (%v), want %d", hdr[1], err, want)
		}
		m.respond(b, hdr)
	}
	peertest.Eventually(b, 10*time.Second, "the subagent connected", sub.Connected)
	b.Cleanup(func() {
		cancel()
		// The subagent's Close gets its Response, then the session ends.
		if hdr, _, err := m.read(); err == nil {
			m.respond(b, hdr)
		}
		<-done
		c.Close()
	})
	return m
}

func (m *benchMaster) read() ([]byte, []byte, error) {
	hdr := make([]byte, 20)
	if _, err := io.ReadFull(m.r, hdr); err != nil {
		return hdr, nil, err
	}
	p := make([]byte, binary.BigEndian.Uint32(hdr[16:]))
	_, err := io.ReadFull(m.r, p)
	return hdr, p, err
}

// respond answers the subagent's request hdr with noError.
func (m *benchMaster) respond(b *testing.B, hdr []byte) {
	res := make([]byte, 28)
	res[0], res[1], res[2] = 1, 18, 0x10
	binary.BigEndian.PutUint32(res[4:], benchSession)
	copy(res[8:16], hdr[8:16]) // transaction and packet IDs
	binary.BigEndian.PutUint32(res[16:], 8)
	if _, err := m.c.Write(res); err != nil {
		b.Fatal(err)
	}
}

// benchGetNextPDU is a GetNext-PDU (network byte order) of one
// SearchRange per start, each open-ended.
func benchGetNextPDU(session, packet uint32, starts []mibs.OID) []byte {
	p := make([]byte, 20, 20+len(starts)*80)
	p[0], p[1], p[2] = 1, 6, 0x10
	binary.BigEndian.PutUint32(p[4:], session)
	binary.BigEndian.PutUint32(p[8:], packet)
	binary.BigEndian.PutUint32(p[12:], packet)
	for _, s := range starts {
		p = append(p, uint8(len(s)), 0, 0, 0)
		for _, sub := range s {
			p = binary.BigEndian.AppendUint32(p, sub)
		}
		p = append(p, 0, 0, 0, 0) // end: the null OID
	}
	binary.BigEndian.PutUint32(p[16:], uint32(len(p)-20))
	return p
}

// getNext sends one GetNext-PDU and returns the names answered (nil for
// endOfMibView), answering the subagent's own requests (pings) meanwhile.
func (m *benchMaster) getNext(b *testing.B, starts []mibs.OID) []mibs.OID {
	m.packet++
	if _, err := m.c.Write(benchGetNextPDU(benchSession, m.packet, starts)); err != nil {
		b.Fatal(err)
	}
	for {
		hdr, p, err := m.read()
		if err != nil {
			b.Fatal(err)
		}
		if hdr[1] != 18 {
			m.respond(b, hdr)
			continue
		}
		if binary.BigEndian.Uint32(hdr[12:]) != m.packet {
			b.Fatalf("answer to packet %d, want %d", binary.BigEndian.Uint32(hdr[12:]), m.packet)
		}
		names, err := benchNames(p)
		if err != nil || len(names) != len(starts) {
			b.Fatalf("GetNext answer: %d names for %d ranges, %v", len(names), len(starts), err)
		}
		return names
	}
}

// benchNames reads the names of a Response-PDU's varbinds (the value
// types a vmwVmTable has).
func benchNames(p []byte) ([]mibs.OID, error) {
	if len(p) < 8 || binary.BigEndian.Uint16(p[4:]) != 0 {
		return nil, errors.New("short or failed Response")
	}
	p = p[8:]
	var names []mibs.OID
	for len(p) > 0 {
		if len(p) < 8 {
			return nil, errors.New("short varbind")
		}
		typ := binary.BigEndian.Uint16(p)
		n, prefix := int(p[4]), p[5]
		p = p[8:]
		if len(p) < 4*n {
			return nil, errors.New("short name")
		}
		var name mibs.OID
		if prefix != 0 {
			name = mibs.OID{1, 3, 6, 1, uint32(prefix)}
		}
		for i := range n {
			name = append(name, binary.BigEndian.Uint32(p[4*i:]))
		}
		p = p[4*n:]
		switch typ {
		case 2: // Integer
			p = p[4:]
		case 4: // OCTET STRING, padded to 4 bytes
			l := int(binary.BigEndian.Uint32(p))
			p = p[4+(l+3)/4*4:]
		case 130: // endOfMibView
			name = nil
		default:
			return nil, fmt.Errorf("value type %d", typ)
		}
		names = append(names, name)
	}
	return names, nil
}
