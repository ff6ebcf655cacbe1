// Package silencestest is a fake of Alertmanager's silences API (v2): create, update
// (in place when only the end moves, else a new silence that expires the old, as
// Alertmanager does), read and expire; it checks a bearer token when given one, and can
// be down or lose its silences, as an Alertmanager restarted without its storage does.
package silencestest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Matcher is a silence's matcher as the API writes it.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// Silence is a silence the fake holds.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	Expired   bool      `json:"-"`
}

// Fake is one Alertmanager's silences API.
type Fake struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	silences map[string]*Silence
	next     int
	down     bool
}

// New starts a fake; token, when not empty, is the bearer token it wants.
func New(t testing.TB, token string) *Fake {
	f := &Fake{token: token, silences: map[string]*Silence{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the fake's base URL.
func (f *Fake) URL() string { return f.srv.URL }

// SetDown makes every request fail with 503 (down) or work again.
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// Forget drops every silence, as a restart without storage does.
func (f *Fake) Forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.silences = map[string]*Silence{}
}

// Active are the silences not expired, by id.
func (f *Fake) Active() map[string]Silence {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]Silence{}
	for id, s := range f.silences {
		if !s.Expired {
			out[id] = *s
		}
	}
	return out
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v2/silences":
		var s Silence
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil || len(s.Matchers) == 0 || !s.EndsAt.After(s.StartsAt) || s.Comment == "" || s.CreatedBy == "" {
			http.Error(w, fmt.Sprintf("invalid silence: %v", err), http.StatusBadRequest)
			return
		}
		if s.ID != "" {
			old, ok := f.silences[s.ID]
			if !ok {
				http.Error(w, "silence not found", http.StatusNotFound)
				return
			}
			if !old.Expired && sameButEnd(*old, s) {
				old.EndsAt, old.Comment = s.EndsAt, s.Comment
				writeJSON(w, map[string]string{"silenceID": old.ID})
				return
			}
			old.Expired = true
		}
		f.next++
		s.ID = fmt.Sprintf("am-%d", f.next)
		f.silences[s.ID] = &s
		writeJSON(w, map[string]string{"silenceID": s.ID})
	case strings.HasPrefix(r.URL.Path, "/api/v2/silence/"):
		s, ok := f.silences[strings.TrimPrefix(r.URL.Path, "/api/v2/silence/")]
		if !ok {
			http.Error(w, "silence not found", http.StatusNotFound)
			return
		}
		switch r.Method {
		case http.MethodGet:
			state := "active"
			if s.Expired {
				state = "expired"
			}
			writeJSON(w, struct {
				Silence
				Status struct {
					State string `json:"state"`
				} `json:"status"`
			}{Silence: *s, Status: struct {
				State string `json:"state"`
			}{state}})
		case http.MethodDelete:
			s.Expired = true
			w.WriteHeader(http.StatusOK)
		default:
			http.Error(w, "method", http.StatusMethodNotAllowed)
		}
	default:
		http.NotFound(w, r)
	}
}

func sameButEnd(a, b Silence) bool {
	if !a.StartsAt.Equal(b.StartsAt) || len(a.Matchers) != len(b.Matchers) {
		return false
	}
	for i := range a.Matchers {
		if a.Matchers[i] != b.Matchers[i] {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
