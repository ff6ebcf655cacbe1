package store

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// Claim is the dedupe state of one alert at one receiver: the last status claimed for
// delivery, the episode it belonged to, when, and the notification that carries it.
type Claim struct {
	Receiver       string
	Fingerprint    string
	Status         string // firing or resolved
	StartsAt       time.Time
	NotifiedAt     time.Time
	NotificationID int64 // 0 when the state changed without a notification
}

// ClaimTime is t as a claim holds it: claims keep startsAt in Unix nanoseconds, so times
// outside 1677-2262 (a startsAt from the year 9999) are held as the nearest end.
func ClaimTime(t time.Time) time.Time {
	lo, hi := time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)
	switch {
	case t.Before(lo):
		return lo
	case t.After(hi):
		return hi
	}
	return t
}

const claimsQuery = `SELECT fingerprint, status, starts_at, notified_at, notification_id
	FROM claims WHERE receiver = ? AND fingerprint IN (SELECT value FROM json_each(?))`

const pgClaimsQuery = `SELECT fingerprint, status, starts_at, notified_at, notification_id
	FROM claims WHERE receiver = $1 AND fingerprint = ANY($2)`

// ClaimKey names one alert at one receiver.
type ClaimKey struct{ Receiver, Fingerprint string }

const pgClaimsOfQuery = `SELECT c.receiver, c.fingerprint, c.status, c.starts_at, c.notified_at, c.notification_id
	FROM claims c JOIN unnest($1::text[], $2::text[]) AS k(receiver, fingerprint) USING (receiver, fingerprint)`

// ClaimsOf loads the claims of many receivers' alerts at once (one round trip on
// PostgreSQL), keyed as asked. On a shared database, take their locks first.
func (t *Tx) ClaimsOf(keys []ClaimKey) (map[ClaimKey]Claim, error) {
	out := make(map[ClaimKey]Claim, len(keys))
	if !t.pg {
		byReceiver := map[string][]string{}
		for _, k := range keys {
			byReceiver[k.Receiver] = append(byReceiver[k.Receiver], k.Fingerprint)
		}
		for r, fps := range byReceiver {
			claims, err := t.Claims(r, fps)
			if err != nil {
				return nil, err
			}
			for fp, c := range claims {
				out[ClaimKey{r, fp}] = c
			}
		}
		return out, nil
	}
	receivers, fps := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		receivers[i], fps[i] = k.Receiver, k.Fingerprint
	}
	rows, err := t.tx.QueryContext(t.ctx, pgClaimsOfQuery, receivers, fps)
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Claim
		var starts, notified int64
		if err := rows.Scan(&c.Receiver, &c.Fingerprint, &c.Status, &starts, &notified, &c.NotificationID); err != nil {
			return nil, fmt.Errorf("claims: %w", err)
		}
		c.StartsAt, c.NotifiedAt = time.Unix(0, starts), time.UnixMilli(notified)
		out[ClaimKey{c.Receiver, c.Fingerprint}] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return out, nil
}

// Claims loads the claims of one receiver for the given fingerprints, keyed by fingerprint.
// On a shared database, take their locks first (Tx.Lock with ClaimLock keys).
func (t *Tx) Claims(receiver string, fingerprints []string) (map[string]Claim, error) {
	var rows *sql.Rows
	var err error
	if t.pg {
		rows, err = t.tx.QueryContext(t.ctx, pgClaimsQuery, receiver, fingerprints)
	} else {
		var fps []byte
		if fps, err = json.Marshal(fingerprints); err != nil {
			return nil, fmt.Errorf("claims: %w", err)
		}
		rows, err = t.tx.StmtContext(t.ctx, t.stmts.claims).QueryContext(t.ctx, receiver, string(fps))
	}
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Claim, len(fingerprints))
	for rows.Next() {
		c := Claim{Receiver: receiver}
		var starts, notified int64
		if err := rows.Scan(&c.Fingerprint, &c.Status, &starts, &notified, &c.NotificationID); err != nil {
			return nil, fmt.Errorf("claims: %w", err)
		}
		c.StartsAt, c.NotifiedAt = time.Unix(0, starts), time.UnixMilli(notified)
		out[c.Fingerprint] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return out, nil
}

const putClaimQuery = `INSERT INTO claims (receiver, fingerprint, status, starts_at, notified_at, notification_id)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (receiver, fingerprint) DO UPDATE SET
		status = excluded.status, starts_at = excluded.starts_at,
		notified_at = excluded.notified_at, notification_id = excluded.notification_id`

// pgPutClaimsQuery writes many claims in one statement (one round trip): arrays of each
// column, unnested into rows.
const pgPutClaimsQuery = `INSERT INTO claims (receiver, fingerprint, status, starts_at, notified_at, notification_id)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
	ON CONFLICT (receiver, fingerprint) DO UPDATE SET
		status = excluded.status, starts_at = excluded.starts_at,
		notified_at = excluded.notified_at, notification_id = excluded.notification_id`

// PutClaims writes claims, each replacing the receiver's previous claim for its
// fingerprint; of two for one alert at one receiver, the later wins.
func (t *Tx) PutClaims(claims []Claim) error {
	if len(claims) == 0 {
		return nil
	}
	claims = lastPerKey(claims)
	if !t.pg {
		stmt := t.tx.StmtContext(t.ctx, t.stmts.putClaim)
		for _, c := range claims {
			if _, err := stmt.ExecContext(t.ctx, c.Receiver, c.Fingerprint, c.Status,
				ClaimTime(c.StartsAt).UnixNano(), c.NotifiedAt.UnixMilli(), c.NotificationID); err != nil {
				return fmt.Errorf("put claim: %w", err)
			}
		}
		return nil
	}
	// In key order, as every writer of claims rows should: two transactions updating the
	// same rows in opposite orders deadlock.
	claims = slices.SortedFunc(slices.Values(claims), func(a, b Claim) int {
		return cmp.Or(cmp.Compare(a.Receiver, b.Receiver), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	n := len(claims)
	receivers, fps, statuses := make([]string, n), make([]string, n), make([]string, n)
	starts, notified, ids := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, c := range claims {
		receivers[i], fps[i], statuses[i] = c.Receiver, c.Fingerprint, c.Status
		starts[i], notified[i], ids[i] = ClaimTime(c.StartsAt).UnixNano(), c.NotifiedAt.UnixMilli(), c.NotificationID
	}
	if _, err := t.tx.ExecContext(t.ctx, pgPutClaimsQuery, receivers, fps, statuses, starts, notified, ids); err != nil {
		return fmt.Errorf("put claims: %w", err)
	}
	return nil
}

// lastPerKey keeps the last claim of each (receiver, fingerprint), in order: one
// statement cannot update a row twice.
func lastPerKey(claims []Claim) []Claim {
	last := make(map[ClaimKey]int, len(claims))
	for i, c := range claims {
		last[ClaimKey{c.Receiver, c.Fingerprint}] = i
	}
	if len(last) == len(claims) {
		return claims
	}
	out := make([]Claim, 0, len(last))
	for i, c := range claims {
		if last[ClaimKey{c.Receiver, c.Fingerprint}] == i {
			out = append(out, c)
		}
	}
	return out
}
