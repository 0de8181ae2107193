package snmpagent

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"hostagent/mibs/resolve"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// BenchmarkNotifyV3 measures notifications per second to one loopback
// target, side by side in one run: a v2c trap, and SNMPv3 traps at
// noAuthNoPriv, authNoPriv SHA-256 and authPriv SHA-256/AES-128 (the
// issue's goal: authPriv at least half the v2c rate).
func BenchmarkNotifyV3(b *testing.B) {
	for _, tc := range []struct{ name, auth, priv, level string }{
		{"v2c", "", "", ""},
		{"v3-noAuthNoPriv", "none", "none", "none"},
		{"v3-authNoPriv-SHA256", "SHA256", "none", "auth"},
		{"v3-authPriv-SHA256-AES128", "SHA256", "AES128", "priv"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sink := newUDPSink(b)
			a := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
			cfg := snmpconfig.DefaultConfig()
			cfg.Enabled, cfg.Communities, cfg.QueueSize = true, []string{"public"}, 1_000_000
			if tc.level == "" {
				cfg.Targets = []string{fmt.Sprintf("127.0.0.1@%d/public", sink.port())}
			} else {
				engineID, err := usm.NewEngineID()
				if err != nil {
					b.Fatal(err)
				}
				clock, err := usm.StartClock(filepath.Join(b.TempDir(), "snmp-engine.toml"))
				if err != nil {
					b.Fatal(err)
				}
				a.SetEngine(engineID, clock)
				user := "bench/-/-/none"
				if tc.level != "none" {
					auth, _ := usm.ParseAuthProtocol(tc.auth)
					var privPass []byte
					if tc.level == "priv" {
						privPass = []byte("bench-priv-pass")
					}
					ak, pk, err := usm.LocalizedKeys(auth, []byte("bench-auth-pass"), privPass, engineID)
					if err != nil {
						b.Fatal(err)
					}
					privHash := "-"
					if pk != nil {
						privHash = hex.EncodeToString(pk)
					}
					user = "bench/" + hex.EncodeToString(ak) + "/" + privHash + "/" + tc.level
				}
				cfg.Authentication, cfg.Privacy = tc.auth, tc.priv
				cfg.Users = snmpconfig.Users{user}
				cfg.V3Targets = []string{fmt.Sprintf("127.0.0.1@%d/bench/%s/trap", sink.port(), tc.level)}
			}
			p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
			if err != nil {
				b.Fatal(err)
			}
			a.Apply(p)
			b.Cleanup(func() { a.Close(context.Background()) })
			timeNotify(b, a)
		})
	}
}
