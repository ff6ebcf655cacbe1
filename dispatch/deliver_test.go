package dispatch

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{5, 8 * time.Second, 16 * time.Second},
		{9, 128 * time.Second, 256 * time.Second},
		{10, 150 * time.Second, 5 * time.Minute},
		{1000, 150 * time.Second, 5 * time.Minute},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoff(tt.attempt)
			if d < tt.min || d > tt.max {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", tt.attempt, d, tt.min, tt.max)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("backoff(%d) has no jitter: %d distinct values", tt.attempt, len(seen))
		}
	}
}

func TestPacerPacesAttempts(t *testing.T) {
	var b pacer
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	var waits []time.Duration
	for range 5 {
		waits = append(waits, b.reserve(1, 3, now))
	}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits = %v, want %v (burst 3, then one per second)", waits, want)
		}
	}
	// Tokens come back with time; a changed limit starts a full bucket.
	if w := b.reserve(1, 3, now.Add(10*time.Second)); w != 0 {
		t.Fatalf("after 10s: wait %s", w)
	}
	if w := b.reserve(2, 1, now.Add(10*time.Second)); w != 0 {
		t.Fatalf("new limit: wait %s", w)
	}
	if w := b.reserve(2, 1, now.Add(10*time.Second)); w != 500*time.Millisecond {
		t.Fatalf("rate 2/s: wait %s", w)
	}
}
