package daemon_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"hostagent/manage/api"
)

// TestUserChangesDoNotStarveLogins: 200 parallel user additions by a
// Host.Config.Users holder filled the password-check queue with checks
// that never time out, and every login got 503. User changes now wait
// for one another behind the daemon's lock, so at most one of them holds
// a check: a login from another address gets through during the burst.
func TestUserChangesDoNotStarveLogins(t *testing.T) {
	e := startPrivileges(t)
	ursula := e.as("ursula", "ursula-passw0rd")
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 24 {
		wg.Go(func() {
			<-start
			ursula.do("POST", api.PathUsers, api.NewUser{Name: fmt.Sprintf("flood%d", g), Password: "flood-passw0rd", Role: "ReadOnly"})
		})
	}
	close(start)
	alice := e.from("127.0.3.1")
	code, body := alice.login("alice", "alice-passw0rd")
	wg.Wait()
	if code != http.StatusOK {
		t.Errorf("alice's login during a burst of user additions: %d %s", code, body)
	}
}
