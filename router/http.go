package router

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/watchdog"
)

// API limits for listing notifications.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// writeTimeout is how long answering may take once a request has been read: a webhook's
// commit waits for the writer, which a very large webhook can hold for seconds.
const writeTimeout = time.Minute

// HTTPServer is the HTTP server for Handler, with timeouts that keep slow and idle clients
// from holding connections (and file descriptors): readTimeout bounds reading a whole
// request and the idle time of a kept-alive connection, as Prometheus's --web.read-timeout.
func (s *Server) HTTPServer(readTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: min(readTimeout, 10*time.Second),
		ReadTimeout:       readTimeout,
		IdleTimeout:       readTimeout,
		// WriteTimeout runs from the end of the headers, so it covers reading the body.
		WriteTimeout: readTimeout + writeTimeout,
		ErrorLog:     slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}

type apiResponse struct {
	Status string `json:"status"`
	Data   any    `json:"data,omitempty"`
	Error  string `json:"error,omitempty"`
	// Next continues a listing: pass it as ?before= (absent at the end).
	Next int64 `json:"next,omitempty"`
}

// errStoreUnavailable is what the API and the console say when the store fails; the
// store's own error goes to the log.
var errStoreUnavailable = errors.New("store unavailable")

func writeJSON(w http.ResponseWriter, code int, v apiResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiResponse{Status: "error", Error: msg})
}

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := s.webhook(w, r)
	s.metrics.webhookDuration.Observe(time.Since(start).Seconds())
	s.metrics.webhookRequests.WithLabelValues(strconv.Itoa(code)).Inc()
}

// webhook answers one Alertmanager notification and returns the status code it sent.
// 200 means every notification the payload produced is committed (ARCHITECTURE.md, invariant 1).
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) int {
	fail := func(code int, msg string) int {
		if code/100 == 4 {
			// The rest of the body may never come (a slow or hostile client): answer now
			// and close, rather than let the server read what is left before answering.
			w.Header().Set("Connection", "close")
		}
		writeError(w, code, msg)
		return code
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return fail(http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: POST the Alertmanager webhook payload")
	}
	rt := s.runtime.Load()
	if ok, err := authorized(r, &rt.cfg.Webhook); err != nil {
		s.logger.Error("Cannot check webhook credentials", "err", err)
		return fail(http.StatusInternalServerError, "webhook credentials are not available on the server")
	} else if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="alertrouter"`)
		return fail(http.StatusUnauthorized, "missing or wrong credentials")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fail(http.StatusBadRequest, "content type must be application/json, got "+strconv.Quote(r.Header.Get("Content-Type")))
	}
	p, err := DecodePayload(http.MaxBytesReader(w, r.Body, rt.cfg.Webhook.MaxBodyBytes))
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return fail(ie.Status, ie.Msg)
		}
		return fail(http.StatusBadRequest, err.Error())
	}
	if p.TruncatedAlerts > 0 {
		s.logger.Warn("Alertmanager truncated this notification: set max_alerts: 0 in its webhook_config",
			"truncated_alerts", p.TruncatedAlerts, "group_key", p.GroupKey)
	}
	res, err := s.accept(r.Context(), rt, p, s.now())
	if err != nil && r.Context().Err() != nil {
		// Nothing was committed; Alertmanager retries what it did not see answered.
		s.logger.Warn("Webhook client went away before the commit", "err", err)
		return fail(http.StatusServiceUnavailable, "request cancelled")
	}
	if err != nil {
		s.logger.Error("Cannot commit notifications, answering 503 so that Alertmanager retries", "err", err)
		return fail(http.StatusServiceUnavailable, "store unavailable, retry later")
	}
	for _, a := range p.Data.Alerts {
		s.metrics.alertsReceived.WithLabelValues(a.Status).Inc()
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: res})
	return http.StatusOK
}

// authorized checks the credentials that Alertmanager's http_config sends. Secrets are
// compared in constant time, over their hashes so that their lengths do not leak either.
func authorized(r *http.Request, c *config.Webhook) (bool, error) {
	switch {
	case c.BasicAuth != nil:
		want, err := receivers.ReadSecret(c.BasicAuth.Password, c.BasicAuth.PasswordFile)
		if err != nil {
			return false, err
		}
		user, pass, ok := r.BasicAuth()
		return ok && auth.Equal(user, c.BasicAuth.Username) && auth.Equal(pass, want), nil
	case c.BearerToken != "" || c.BearerTokenFile != "":
		want, err := receivers.ReadSecret(c.BearerToken, c.BearerTokenFile)
		if err != nil {
			return false, err
		}
		got, ok := auth.BearerToken(r)
		return ok && auth.Equal(got, want), nil
	}
	return true, nil
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ping(r.Context()); err != nil {
		s.logger.Warn("Not ready: store unusable", "err", err)
		http.Error(w, "Not ready: store unavailable.", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("Ready.\n"))
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		writeError(w, http.StatusMethodNotAllowed, "use POST to reload the config")
		return
	}
	err := s.Reload()
	s.audit(r, id, "config.reload", s.configFile, err)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "failed to reload config: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success"})
}

func (s *Server) handleWatchdog(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
		return
	}
	st, err := s.watchdog.Status(r.Context())
	switch {
	case errors.Is(err, watchdog.ErrNotConfigured):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		s.logger.Error("Cannot read the watchdog state", "err", err)
		writeError(w, http.StatusServiceUnavailable, "store unavailable, retry later")
	default:
		writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: st})
	}
}
