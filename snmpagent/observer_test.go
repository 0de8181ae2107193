package snmpagent

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"

	"hostagent/mibs"
)

// TestObserverSeesWhatIsSent: the observer is told of each notification
// handed to the targets (test notifications included) with the targets,
// and of nothing the agent did not send: disabled, or filtered by notraps.
func TestObserverSeesWhatIsSent(t *testing.T) {
	r1, r2 := newRecorder(t), newRecorder(t)
	a := testAgent(t)
	var mu sync.Mutex
	var seen []Sent
	a.SetObserver(func(s Sent) { mu.Lock(); seen = append(seen, s); mu.Unlock() })
	observed := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, s := range seen {
			out = append(out, s.Notification.Type.Name+" "+strconv.Itoa(len(s.Targets)))
		}
		return out
	}
	ctx := context.Background()
	_ = a.Notify(ctx, mibs.WarmStart.MustNew()) // no plan yet: not sent
	targets := []string{"127.0.0.1@" + strconv.Itoa(r1.port()), "127.0.0.1@" + strconv.Itoa(r2.port()) + "/ops"}
	cfg := enabled(targets...)
	cfg.Notraps = []string{"vmwVmPoweredOn"}
	apply(t, a, cfg) // coldStart
	_ = a.Notify(ctx, vmNotification(t, "filtered"))
	if _, err := a.Test(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := observed(), []string{"coldStart 2", "warmStart 2"}; !slices.Equal(got, want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	mu.Lock()
	s := seen[1]
	mu.Unlock()
	if want := targets; !slices.Equal(s.Targets, want) || s.Time.IsZero() {
		t.Errorf("warmStart to %v at %v, want %v", s.Targets, s.Time, want)
	}
	a.SetObserver(nil)
	_ = a.Notify(ctx, mibs.WarmStart.MustNew())
	if got := observed(); len(got) != 2 {
		t.Errorf("observed after SetObserver(nil): %v", got)
	}
}
