package receivertest

import "sync"

// Throttle is the rate-limit knob of the platform fakes (slacktest, cmstest,
// webhooktest, ...): it counts down the requests to refuse as the platform's rate limit
// does, and counts those refused. Its zero value throttles nothing; it is safe to use
// while the fake serves.
type Throttle struct {
	mu         sync.Mutex
	left       int
	retryAfter int
	count      int
}

// Set throttles the next n requests, asking for retryAfterSeconds of wait where the
// platform says how long (0 where it does not); 0 requests stop throttling.
func (t *Throttle) Set(n, retryAfterSeconds int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.left, t.retryAfter = n, retryAfterSeconds
}

// Take reports whether the request at hand is to be throttled, and the wait to ask for.
func (t *Throttle) Take() (throttled bool, retryAfterSeconds int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.left == 0 {
		return false, 0
	}
	t.left--
	t.count++
	return true, t.retryAfter
}

// Count is how many requests have been throttled so far.
func (t *Throttle) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count
}
