package apiserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"hostagent/manage/api"
	"hostagent/manage/auth"
)

// ObserveService is what the daemon offers the web console to watch the
// host: its state, the last hour of throughput, the notifications sent.
type ObserveService interface {
	HostState(ctx context.Context) (api.HostState, error)
	History(ctx context.Context) (api.History, error)
	// Notifications are those with a sequence number above after.
	Notifications(ctx context.Context, after uint64) (api.NotificationFeed, error)
}

func routeObserve(mux *http.ServeMux, g func(auth.Privilege, http.HandlerFunc) http.HandlerFunc, gate Gate, svc ObserveService, log *slog.Logger) {
	// Targets name their community: shown, as by GET /api/v1/snmp, only to
	// whom the gate would let set it.
	showCommunities := func(r *http.Request) bool {
		_, err := gate.Admit(r, auth.HostConfigSNMP)
		return err == nil
	}
	mux.HandleFunc("GET "+api.PathHost, g(auth.SystemRead, func(w http.ResponseWriter, r *http.Request) {
		st, err := svc.HostState(r.Context())
		reply(w, log, st, err)
	}))
	mux.HandleFunc("GET "+api.PathHistory, g(auth.SystemRead, func(w http.ResponseWriter, r *http.Request) {
		h, err := svc.History(r.Context())
		if err == nil && !showCommunities(r) {
			h = h.WithoutCommunities()
		}
		reply(w, log, h, err)
	}))
	mux.HandleFunc("GET "+api.PathNotifications, g(auth.SystemRead, func(w http.ResponseWriter, r *http.Request) {
		var after uint64
		query := r.URL.Query()
		for name, values := range query {
			if name != "after" || len(values) > 1 {
				reply(w, log, nil, Invalid(fmt.Errorf("query parameter %q: unknown or repeated (allowed: after, once)", name)))
				return
			}
		}
		if v := query.Get("after"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				reply(w, log, nil, Invalid(fmt.Errorf("after=%q: must be a non-negative integer, the sequence number of the last notification seen", v)))
				return
			}
			after = n
		}
		f, err := svc.Notifications(r.Context(), after)
		if err == nil && !showCommunities(r) {
			f = f.WithoutCommunities()
		}
		reply(w, log, f, err)
	}))
}
