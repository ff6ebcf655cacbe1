package auth

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
)

// A login of an unknown user checks the password against dummyHash, so that it takes as
// long as a known user's: it must be a whole bcrypt hash, of the default cost that
// hash-password gives users' hashes.
func TestDummyHashCostsAsMuchAsAUsersHash(t *testing.T) {
	cost, err := bcrypt.Cost(dummyHash)
	if err != nil {
		t.Fatalf("dummyHash is not a bcrypt hash: %v", err)
	}
	if cost != bcrypt.DefaultCost {
		t.Errorf("dummyHash has cost %d, users' hashes %d", cost, bcrypt.DefaultCost)
	}
	if err := bcrypt.CompareHashAndPassword(dummyHash, []byte("alertrouter")); err != nil {
		t.Errorf("dummyHash is not whole: %v", err)
	}
}

// An unknown name is refused after the work of the users' most expensive hash: with
// hashes of cost 4 and 5, a hash of cost 5 is made at the first such login and compared
// against at the next; with hashes of the default cost, the constant is used.
func TestUnknownUserCostsAsMuchAsTheUsersHighestCost(t *testing.T) {
	hashOf := func(cost int) receivers.Secret {
		h, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
		if err != nil {
			t.Fatal(err)
		}
		return receivers.Secret(h)
	}
	a := New(nil, prometheus.NewRegistry(), time.Now)
	web := &config.Web{Users: []config.User{{Name: "ann", PasswordHash: hashOf(4)}, {Name: "bob", PasswordHash: hashOf(5)}}}
	for i := range 2 {
		if _, err := a.check(web, "eve", "pw", "client"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("login %d of an unknown user: %v, want ErrBadLogin", i, err)
		}
		if len(a.dummies) != 1 {
			t.Fatalf("after login %d, dummy hashes of costs %v, want one of cost 5", i, slices.Collect(maps.Keys(a.dummies)))
		}
		if cost, err := bcrypt.Cost(a.dummies[5]); err != nil || cost != 5 {
			t.Fatalf("after login %d, the dummy hash has cost %d (%v), want 5", i, cost, err)
		}
	}

	b := New(nil, prometheus.NewRegistry(), time.Now)
	web = &config.Web{Users: []config.User{{Name: "ann", PasswordHash: hashOf(bcrypt.DefaultCost)}}}
	if _, err := b.check(web, "eve", "pw", "client"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("login of an unknown user: %v, want ErrBadLogin", err)
	}
	if len(b.dummies) != 0 {
		t.Errorf("with users of the default cost, dummy hashes were made: %v", slices.Collect(maps.Keys(b.dummies)))
	}
}

// Tries whose passwords are still being checked hold tries back, so that attempts sent at
// once cannot all pass the limit before the first failure is known: when they hold back
// the last ones, a new try waits for one to end. A success gives its try back (the waiting
// one goes on), a failure uses it up (a waiting one is refused once none is left).
func TestTriesBeingCheckedHoldTriesBack(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	a := New(nil, prometheus.NewRegistry(), func() time.Time { return now })
	const client = "10.0.0.1"
	takeAll := func() []loginTry {
		var tries []loginTry
		for i := range loginBurst {
			try, ok := a.try(client)
			if !ok {
				t.Fatalf("try %d of %d refused", i+1, loginBurst)
			}
			tries = append(tries, try)
		}
		return tries
	}
	type result struct {
		try loginTry
		ok  bool
	}
	// wait starts a try that must wait: it returns once it does.
	wait := func() <-chan result {
		got := make(chan result, 1)
		go func() {
			try, ok := a.try(client)
			got <- result{try, ok}
		}()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			a.mu.Lock()
			waiting := a.limiters[client].waiting
			a.mu.Unlock()
			if waiting == 1 {
				return got
			}
			select {
			case r := <-got:
				t.Fatalf("try %d with %d being checked did not wait: ok=%v", loginBurst+1, loginBurst, r.ok)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("try never waited")
			}
		}
	}

	tries := takeAll()
	got := wait()
	if try, ok := a.try("10.0.0.2"); !ok {
		t.Fatal("another client's try refused")
	} else {
		try.settle(false)
	}
	tries[0].settle(false)
	r := <-got
	if !r.ok {
		t.Fatal("the waiting try was refused after a success gave one back")
	}
	for _, try := range append(tries[1:], r.try) {
		try.settle(false)
	}

	tries = takeAll()
	got = wait()
	for _, try := range tries {
		try.settle(true)
	}
	if (<-got).ok {
		t.Fatalf("the waiting try went on after %d failures", loginBurst)
	}
	if _, ok := a.try(client); ok {
		t.Fatalf("a try allowed after %d failures", loginBurst)
	}
	now = now.Add(loginEvery)
	if try, ok := a.try(client); !ok {
		t.Fatalf("no try %v after the last failure", loginEvery)
	} else {
		try.settle(true)
	}
}
