package links

import (
	"errors"
	"testing"
	"time"
)

func TestMakeAndCheck(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	l := Link{Action: Silence4h, Notification: 1234567, Fingerprint: "0882e63a3d3ee84a", StartsAt: now.Add(-time.Hour).Add(123), Expires: now.Add(24 * time.Hour)}
	token, err := Make(key, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) > 60 {
		t.Errorf("a link of %d characters: %s", len(token), token)
	}
	got, err := Check(key, token, now)
	if err != nil || got.Action != l.Action || got.Notification != l.Notification || got.Fingerprint != l.Fingerprint ||
		!got.StartsAt.Equal(l.StartsAt) || !got.Expires.Equal(l.Expires) {
		t.Fatalf("check = %+v, %v; want %+v", got, err, l)
	}
	if _, err := Check(key, token, l.Expires); !errors.Is(err, ErrExpired) {
		t.Errorf("at its expiry: %v, want ErrExpired", err)
	}
	if _, err := Check([]byte("another key, another server....."), token, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("with another key: %v, want ErrInvalid", err)
	}
	// Every changed character is caught: the content and the signature alike.
	for i := range token {
		changed := []byte(token)
		changed[i] = map[bool]byte{true: 'A', false: 'B'}[token[i] != 'A']
		if _, err := Check(key, string(changed), now); err == nil {
			t.Fatalf("a link changed at %d passed", i)
		}
	}
	for _, bad := range []string{"", "x", "!!!!", token[:len(token)-1], token + "A"} {
		if _, err := Check(key, bad, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := Make(key, Link{Fingerprint: "not-hex"}); err == nil {
		t.Error("a fingerprint that is not 16 hex digits was signed")
	}
}

func FuzzCheck(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	token, _ := Make(key, Link{Action: Acknowledge, Notification: 7, Fingerprint: "0882e63a3d3ee84a", Expires: time.Unix(2e9, 0)})
	f.Add(token)
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Check(key, s, time.Unix(1e9, 0))
		if err == nil && (l.Action < Acknowledge || l.Action > Silence4h) {
			t.Fatalf("an unknown action passed: %+v", l)
		}
	})
}
