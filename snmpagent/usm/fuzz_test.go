package usm_test

import (
	"testing"

	"hostagent/snmpagent/usm"
)

// FuzzOpen feeds the decoders arbitrary datagrams, as a hostile network
// would: they must return an error, never panic or read out of bounds.
func FuzzOpen(f *testing.F) {
	engineID := []byte{0x80, 0x00, 0x7e, 0xd9, 0x05, 1, 2, 3, 4}
	sp := coldStartScoped(f, engineID)
	w := mustWrapper(f, "ops", usm.AuthPriv, usm.AuthSHA256, usm.PrivAES128, "authpass-1", "privpass-2", engineID)
	plain := mustWrapper(f, "ops", usm.NoAuthNoPriv, usm.AuthNone, usm.PrivNone, "", "", engineID)
	for _, wr := range []*usm.Wrapper{w, plain} {
		msg, err := wr.Wrap(nil, sp, usm.Params{MsgID: 1, RequestID: 2, PDUType: usm.PDUResponse, EngineBoots: 1, EngineTime: 2})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
	}
	probe, _ := usm.DiscoveryProbe(nil, 1, 1)
	f.Add(probe)
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, _ = usm.Parse(msg)
		_, _ = w.Open(msg)
		_, _ = plain.Open(msg)
		_, _ = usm.ParseDiscovery(msg, 1)
	})
}
