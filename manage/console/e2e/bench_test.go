package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hostagent/internal/peertest"
)

// BenchmarkDashboardFirstLoad measures the dashboard's first load on
// loopback, each time in a fresh browser context (an empty cache): the
// console loaded (navigation start to the load event: load-ms), then, from
// the click on "Log in", the login (one argon2id check) and the dashboard
// drawn with its data (login-to-dashboard-ms). Bytes are those on the wire as the
// Resource Timing API counts them (transferSize: headers and the body as
// sent, compressed when it was), of every request from the navigation to
// the dashboard drawn, the API calls included.
//
//	go test -run '^$' -bench DashboardFirstLoad -benchtime 10x ./manage/console/e2e/
func BenchmarkDashboardFirstLoad(b *testing.B) {
	trapd := peertest.StartSnmptrapd(b, peertest.SnmptrapdOptions{})
	target := fmt.Sprintf("127.0.0.1@%d/public", trapd.Port())
	d := startDaemon(b, daemonOptions{trapTarget: target})
	row := `tr[data-target="` + target + `"] td.sent`
	var loadMS, loginMS, bytes, requests float64
	b.ResetTimer()
	for range b.N {
		tb := newTab(b, d)
		tb.open("#/login")
		tb.do(
			chromedp.WaitVisible(chromedp.CSS("#login-user")),
			chromedp.SendKeys(chromedp.CSS("#login-user"), adminUser),
			chromedp.SendKeys(chromedp.CSS("#login-password"), d.passwords[adminUser]),
		)
		clicked := eval[float64](tb, `performance.now()`)
		tb.do(chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#page-dashboard")))
		tb.waitJS("the dashboard's data", `!!document.querySelector(`+jsString(row)+`)`)
		var m struct {
			Load, Drawn, Bytes, Requests float64
		}
		m.Drawn = eval[float64](tb, `performance.now()`) - clicked
		m.Load = eval[float64](tb, `performance.getEntriesByType('navigation')[0].loadEventEnd`)
		m.Bytes = eval[float64](tb, `[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
			.reduce((sum, e) => sum + e.transferSize, 0)`)
		m.Requests = eval[float64](tb, `performance.getEntriesByType('navigation').length + performance.getEntriesByType('resource').length`)
		loadMS += m.Load
		loginMS += m.Drawn
		bytes += m.Bytes
		requests += m.Requests
		tb.close()
	}
	n := float64(b.N)
	b.ReportMetric(loadMS/n, "load-ms")
	b.ReportMetric(loginMS/n, "login-to-dashboard-ms")
	b.ReportMetric(bytes/n, "wire-B")
	b.ReportMetric(requests/n, "requests")
	if bytes/n > 200*1024 {
		b.Errorf("the dashboard's first load is %.0f bytes on the wire; the budget is 200 KB", bytes/n)
	}
}

// cpuWindowEnv sets the window of BenchmarkDashboardCPU (default 1m).
const cpuWindowEnv = "HOSTAGENT_BENCH_WINDOW"

// BenchmarkDashboardCPU measures the daemon's CPU time (utime+stime of
// /proc/PID/stat) over a window with no browser, then over the same window
// with the dashboard open and polling, and reports each as a percentage
// of one core. The window is $HOSTAGENT_BENCH_WINDOW (default 1m).
//
//	go test -run '^$' -bench DashboardCPU -benchtime 1x -timeout 10m ./manage/console/e2e/
func BenchmarkDashboardCPU(b *testing.B) {
	window := time.Minute
	if v := os.Getenv(cpuWindowEnv); v != "" {
		var err error
		if window, err = time.ParseDuration(v); err != nil {
			b.Fatalf("$%s: %v", cpuWindowEnv, err)
		}
	}
	trapd := peertest.StartSnmptrapd(b, peertest.SnmptrapdOptions{})
	target := fmt.Sprintf("127.0.0.1@%d/public", trapd.Port())
	d := startDaemon(b, daemonOptions{trapTarget: target})
	pid := d.cmd.Process.Pid
	measure := func() float64 {
		before, start := cpuTicks(b, pid), time.Now()
		time.Sleep(window) // the measurement's window, not a synchronisation
		ticks, elapsed := cpuTicks(b, pid)-before, time.Since(start)
		return 100 * float64(ticks) / float64(clockTicks(b)) / elapsed.Seconds()
	}
	var idle, open, perMinute float64
	for range b.N {
		idle += measure()
		tb := newTab(b, d)
		tb.loginAs(adminUser)
		tb.waitJS("the dashboard's data", `!!document.querySelector(`+jsString(`tr[data-target="`+target+`"] td.sent`)+`)`)
		// Count the page's requests (the console calls the global fetch),
		// to show the dashboard polled all along the window.
		eval[chromedp.Void](tb, `(() => { const f = window.fetch; window.e2eFetches = 0;
			window.fetch = (...a) => { window.e2eFetches++; return f(...a); }; })()`)
		open += measure()
		fetches := eval[float64](tb, `window.e2eFetches`)
		perMinute += fetches / window.Minutes()
		if want := window.Seconds() / 2 / 2; fetches < want { // polls every 2 s; half of them at least
			b.Errorf("the dashboard made %v requests in %v: it did not poll", fetches, window)
		}
		tb.close()
	}
	n := float64(b.N)
	b.ReportMetric(idle/n, "idle-cpu-%")
	b.ReportMetric(open/n, "dashboard-cpu-%")
	b.ReportMetric(perMinute/n, "requests/min")
	b.ReportMetric(window.Seconds(), "window-s")
}

// cpuTicks returns utime+stime of a process, in clock ticks.
func cpuTicks(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis (state is field 3).
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, err1 := strconv.ParseInt(fields[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(fields[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return utime + stime
}

// clockTicks is the kernel's USER_HZ, as getconf reports it (100 on Linux).
func clockTicks(t testing.TB) int64 {
	t.Helper()
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
}
