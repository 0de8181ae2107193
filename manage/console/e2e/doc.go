// Package e2e proves the web console in a real browser: Debian's chromium,
// driven headless through chromedp, against a real hostagentd binary over
// real TLS, with users made by the real vicfg-user and changes read back
// with the real vicfg commands. It proves the list: logins
// (success, wrong password, lockdown), live dashboard counters, a syslog
// form change, the server's message next to a bad value, a ReadOnly user
// without edit controls and refused when forging a change, the security
// headers, and axe-core finding no serious or critical violation on any
// page. It also takes the screenshots in docs/screenshots
// (HOSTAGENT_SCREENSHOTS=dir) and measures the dashboard (its benchmarks).
//
// The package holds only tests; this file exists for its documentation.
package e2e
