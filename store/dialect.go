package store

import (
	"strconv"
	"strings"
	"sync"
)

// The SQL of both backends is written once where it can be, in SQLite's placeholder
// style (? in order, ?N by number), and rewritten for PostgreSQL ($N) by rebind. Where the
// two differ (list parameters, scalar max, upserts that refer to the old row), each query
// is written twice, side by side, and picked by the Tx's or Store's backend.

// rebind turns SQLite placeholders into PostgreSQL's: ? becomes $1, $2... in order, and ?N
// becomes $N. Quoted text is left alone.
func rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + q[i+1:j])
				i = j - 1
			} else {
				n++
				b.WriteString("$" + strconv.Itoa(n))
			}
		default:
			b.WriteByte(c)
		}
	}
	rebound.Store(q, b.String())
	return b.String()
}

var rebound sync.Map // query text -> its PostgreSQL form

// sql is q for the store's backend.
func (s *Store) sql(q string) string {
	if s.pg != nil {
		return rebind(q)
	}
	return q
}

// sql is q for the transaction's backend.
func (t *Tx) sql(q string) string {
	if t.pg {
		return rebind(q)
	}
	return q
}

// pick is the query of the backend: SQLite's or PostgreSQL's own text (already in $N form).
func (t *Tx) pick(sqlite, postgres string) string {
	if t.pg {
		return postgres
	}
	return sqlite
}
