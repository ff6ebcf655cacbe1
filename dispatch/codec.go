package dispatch

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/alertmanager/template"
)

// A batch is stored in a binary form of its own (then compressed): decoding it as JSON
// took longer than the rest of a log receiver's delivery, and encoding it a third of the
// webhook's decoding. The form, after a format byte:
//
//	externalURL, groupLabels, then per alert: status, labels, annotations, startsAt,
//	endsAt, generatorURL, fingerprint
//
// where a string is its length (uvarint) and bytes, a KV its length and as many key and
// value strings, and a time its Unix seconds (varint), nanoseconds (uvarint), and zone
// offset in seconds (varint, with a leading 0 for UTC and 1 for an offset).
//
// Bodies that start with '{' are JSON: the payloads of earlier versions, which migration 6
// moved into batches as they were.
const batchFormat byte = 1

// marshalBatch is b in the binary form.
func marshalBatch(b *Batch) []byte {
	out := make([]byte, 0, 256*len(b.Alerts)+64)
	out = append(out, batchFormat)
	out = appendString(out, b.ExternalURL)
	out = appendKV(out, b.GroupLabels)
	out = binary.AppendUvarint(out, uint64(len(b.Alerts)))
	for i := range b.Alerts {
		a := &b.Alerts[i]
		out = appendString(out, a.Status)
		out = appendKV(out, a.Labels)
		out = appendKV(out, a.Annotations)
		out = appendTime(out, a.StartsAt)
		out = appendTime(out, a.EndsAt)
		out = appendString(out, a.GeneratorURL)
		out = appendString(out, a.Fingerprint)
	}
	return out
}

func appendString(out []byte, s string) []byte {
	return append(binary.AppendUvarint(out, uint64(len(s))), s...)
}

func appendKV(out []byte, kv template.KV) []byte {
	out = binary.AppendUvarint(out, uint64(len(kv)))
	for k, v := range kv {
		out = appendString(appendString(out, k), v)
	}
	return out
}

func appendTime(out []byte, t time.Time) []byte {
	out = binary.AppendVarint(out, t.Unix())
	out = binary.AppendUvarint(out, uint64(t.Nanosecond()))
	if t.Location() == time.UTC {
		return append(out, 0)
	}
	_, offset := t.Zone()
	return binary.AppendVarint(append(out, 1), int64(offset))
}

// unmarshalBatch reads a batch in either form.
func unmarshalBatch(raw []byte) (*Batch, error) {
	if len(raw) > 0 && raw[0] == '{' {
		var b Batch
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, err
		}
		return &b, nil
	}
	r := &reader{b: raw}
	if format := r.byte(); r.err == nil && format != batchFormat {
		return nil, fmt.Errorf("unknown batch format %d", format)
	}
	b := &Batch{ExternalURL: r.string(), GroupLabels: r.kv()}
	n := r.count()
	b.Alerts = make(template.Alerts, n)
	for i := range b.Alerts {
		a := &b.Alerts[i]
		a.Status, a.Labels, a.Annotations = r.string(), r.kv(), r.kv()
		a.StartsAt, a.EndsAt = r.time(), r.time()
		a.GeneratorURL, a.Fingerprint = r.string(), r.string()
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return nil, fmt.Errorf("batch: %w", r.err)
	}
	return b, nil
}

// reader reads the binary form; after the first error every read returns zero values.
type reader struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated")

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail(errTruncated)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errTruncated)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(errTruncated)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count is a number of things that follow, each at least a byte long: no more than
// there are bytes left, so that a damaged count cannot make us allocate without bound.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(errTruncated)
		return 0
	}
	return int(n)
}

func (r *reader) string() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) kv() template.KV {
	n := r.count()
	kv := make(template.KV, n)
	for range n {
		k := r.string()
		kv[k] = r.string()
	}
	return kv
}

// time reads a time back in the location that decoding its JSON would give it:
// UTC, the local zone when the offset is the local zone's at that time, or else a zone
// of that fixed offset.
func (r *reader) time() time.Time {
	sec, nsec := r.varint(), r.uvarint()
	zone := r.byte()
	if r.err != nil {
		return time.Time{}
	}
	if nsec >= uint64(time.Second) {
		r.fail(errors.New("nanoseconds out of range"))
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	switch zone {
	case 0:
		return t.UTC()
	case 1:
		offset := int(r.varint())
		if _, local := t.Zone(); local == offset {
			return t
		}
		return t.In(time.FixedZone("", offset))
	}
	r.fail(fmt.Errorf("unknown zone kind %d", zone))
	return time.Time{}
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}
