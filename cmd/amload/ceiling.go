package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/alertrouter/alertrouter/router"
)

// maxCeilingBody is alertrouter's default webhook.max_body_bytes.
const maxCeilingBody = 10 << 20

// serveCeiling serves the decode-only webhook on addr until the process is stopped: the
// same read and decode as alertrouter's /webhook (router.DecodePayload, with the same body
// limit and server timeouts), then 200 with nothing stored.
func serveCeiling(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/webhook", func(w http.ResponseWriter, r *http.Request) {
		p, err := router.DecodePayload(http.MaxBytesReader(w, r.Body, maxCeilingBody))
		if err != nil {
			var in *router.InputError
			if errors.As(err, &in) {
				http.Error(w, in.Msg, in.Status)
				return
			}
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"alerts":%d}}`+"\n", len(p.Data.Alerts))
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 30 * time.Second}
	fmt.Fprintf(os.Stderr, "amload: serving the decode-only ceiling on %s/webhook\n", addr)
	return srv.ListenAndServe()
}
