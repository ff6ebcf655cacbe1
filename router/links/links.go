// Package links makes and checks the signed links that messages carry to act on an alert
// from a chat or a mail (acknowledge, silence): they name one action on one episode of
// one alert, as one receiver's notification carried it, and expire. A link is its
// content and an HMAC-SHA256 of it (truncated to 128 bits) with a server key, base64url:
// 55 characters, short enough for a chat message, and nothing in it is secret.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Action is what a link does.
type Action byte

// The actions a link can carry.
const (
	Acknowledge Action = iota + 1
	Silence1h
	Silence4h
)

// Actions are every action, in the order messages show them.
var Actions = []Action{Acknowledge, Silence1h, Silence4h}

// String names the action, in the API's words.
func (a Action) String() string {
	switch a {
	case Acknowledge:
		return "acknowledge"
	case Silence1h:
		return "silence 1h"
	case Silence4h:
		return "silence 4h"
	}
	return fmt.Sprintf("action %d", byte(a))
}

// SilenceFor is how long the action silences; 0 for an acknowledgement.
func (a Action) SilenceFor() time.Duration {
	switch a {
	case Silence1h:
		return time.Hour
	case Silence4h:
		return 4 * time.Hour
	}
	return 0
}

// Link is what a link says.
type Link struct {
	Action Action
	// Notification is the notification whose message carried the link: its receiver is
	// where the action is confirmed.
	Notification int64
	// Fingerprint (16 hex digits, as Alertmanager's) and StartsAt name the episode.
	Fingerprint string
	StartsAt    time.Time
	Expires     time.Time
}

const (
	version = 1
	macSize = 16
	// bodySize is the fixed part: version, action, fingerprint, startsAt, expires.
	bodySize = 1 + 1 + 8 + 8 + 4
)

// Errors of Check.
var (
	ErrInvalid = errors.New("this link is not one of ours, or was changed")
	ErrExpired = errors.New("this link has expired")
)

// Make signs l with key.
func Make(key []byte, l Link) (string, error) {
	fp, err := hex.DecodeString(l.Fingerprint)
	if err != nil || len(fp) != 8 {
		return "", fmt.Errorf("fingerprint %q: want 16 hex digits", l.Fingerprint)
	}
	b := make([]byte, bodySize, bodySize+binary.MaxVarintLen64+macSize)
	b[0], b[1] = version, byte(l.Action)
	copy(b[2:10], fp)
	binary.BigEndian.PutUint64(b[10:18], uint64(l.StartsAt.UnixNano()))
	binary.BigEndian.PutUint32(b[18:22], uint32(l.Expires.Unix()))
	b = binary.AppendUvarint(b, uint64(l.Notification))
	b = append(b, mac(key, b)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Check reads token, made with key: ErrInvalid when it was not, or was changed;
// ErrExpired when it was, and has expired by now.
func Check(key []byte, token string, now time.Time) (Link, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(token) // one text per link
	if err != nil || len(b) < bodySize+1+macSize {
		return Link{}, ErrInvalid
	}
	body, sum := b[:len(b)-macSize], b[len(b)-macSize:]
	if !hmac.Equal(sum, mac(key, body)) || body[0] != version {
		return Link{}, ErrInvalid
	}
	id, n := binary.Uvarint(body[bodySize:])
	if n <= 0 || bodySize+n != len(body) {
		return Link{}, ErrInvalid
	}
	l := Link{
		Action:       Action(body[1]),
		Notification: int64(id),
		Fingerprint:  hex.EncodeToString(body[2:10]),
		StartsAt:     time.Unix(0, int64(binary.BigEndian.Uint64(body[10:18]))),
		Expires:      time.Unix(int64(binary.BigEndian.Uint32(body[18:22])), 0),
	}
	if l.Action < Acknowledge || l.Action > Silence4h {
		return Link{}, ErrInvalid
	}
	if !now.Before(l.Expires) {
		return l, ErrExpired
	}
	return l, nil
}

func mac(key, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(body)
	return h.Sum(nil)[:macSize]
}
