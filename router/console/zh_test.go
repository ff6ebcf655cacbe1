package console

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestEveryTextHasItsChinese finds every text the templates translate, and the texts the
// router hands them to translate (titles, states, outcomes, roles), in the catalog.
func TestEveryTextHasItsChinese(t *testing.T) {
	literal := regexp.MustCompile(`\.T "([^"]+)"`)
	texts := map[string]bool{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(names) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(templateFS, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllSubmatch(b, -1) {
			texts[string(m[1])] = true
		}
	}
	if len(texts) < 50 {
		t.Fatalf("found only %d texts in the templates: is the pattern still right?", len(texts))
	}
	for _, text := range []string{
		// Titles (router: s.render).
		"Overview", "Notifications", "Notification", "Dead letters", "Watchdog", "Routing", "Receivers", "Audit log", "Log in", "Alert", "Silences",
		// Notification states, timeline outcomes (router/notifications.go, store.Outcome*).
		"pending", "sent", "dead", "accepted", "retry", "throttled", "expired", "folded", "discarded", "suppressed",
		// Watchdog target states, roles.
		"up", "down", "unknown", "viewer", "operator", "admin",
		// The actions of links (links.Action.String).
		"acknowledge", "silence 1h", "silence 4h",
	} {
		texts[text] = true
	}
	for _, text := range reasons {
		texts[text] = true
	}
	for text := range texts {
		if _, ok := chinese[text]; !ok {
			t.Errorf("no Chinese for %q", text)
		}
	}
	for text := range chinese {
		if !texts[text] && !spokenElsewhere[text] {
			t.Errorf("the catalog has %q, which nothing shows", text)
		}
	}
}
