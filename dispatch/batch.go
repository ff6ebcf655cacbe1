package dispatch

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/alertmanager/template"
)

// Batch is alerts stored once for every notification of one transaction that carries
// some of them (store.Enqueued): the alerts of one host group and status in a webhook,
// which several receivers usually all get. A notification's message is its batch's
// alerts that it carries, with the batch's group labels and external URL.
//
// It is stored in a binary form (codec.go). Its JSON keys are those of the payloads that
// earlier versions stored for each notification (receivers.Data), which migration 6 moved
// into batches as they were: those decode as batches too.
type Batch struct {
	GroupLabels template.KV     `json:"groupLabels"`
	ExternalURL string          `json:"externalURL"`
	Alerts      template.Alerts `json:"alerts"`
}

// Batches are compressed with zstd at its fastest level: it takes a few microseconds per
// alert and makes the body about four times smaller. Each frame ends with its checksum
// (4 bytes): a damaged batch must fail to decode, not decode into other alerts. The
// encoder and decoder are safe for concurrent use; each keeps a few small state buffers.
var (
	batchEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true),
		zstd.WithEncoderCRC(true), zstd.WithEncoderConcurrency(2))
	// A stored batch is ours, but a damaged one must not make us allocate without bound.
	batchDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderLowmem(true), zstd.WithDecoderConcurrency(2),
		zstd.WithDecoderMaxMemory(maxBatchBytes))
)

// maxBatchBytes bounds a decoded batch: ten times the largest webhook alertrouter accepts
// by default.
const maxBatchBytes = 100 << 20

// zstdMagic starts every zstd frame; a JSON body starts with '{'.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// EncodeBatch is the stored form of b: its binary form (codec.go), compressed. It does
// not touch the store: call it before the transaction (Store.Update), so that the
// encoding runs in parallel in the request's goroutine rather than in SQLite's single
// writer.
func EncodeBatch(b *Batch) ([]byte, error) {
	raw := marshalBatch(b)
	return batchEncoder.EncodeAll(raw, make([]byte, 0, len(raw)/4)), nil
}

// decodeBatch reads a stored batch: compressed, or plain JSON from an earlier version.
func decodeBatch(body []byte) (*Batch, error) {
	raw := body
	if bytes.HasPrefix(body, zstdMagic) {
		var err error
		if raw, err = batchDecoder.DecodeAll(body, nil); err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
	}
	return unmarshalBatch(raw)
}

// pick is a copy of the alerts of b at indices, or of all of them when indices is nil.
func (b *Batch) pick(indices []int) (template.Alerts, error) {
	if indices == nil {
		return slices.Clone(b.Alerts), nil
	}
	out := make(template.Alerts, 0, len(indices))
	for _, i := range indices {
		if i < 0 || i >= len(b.Alerts) {
			return nil, fmt.Errorf("alert %d of a batch of %d", i, len(b.Alerts))
		}
		out = append(out, b.Alerts[i])
	}
	return out, nil
}

// AlertNames are the distinct alert names, sorted, for listings.
func AlertNames(alerts template.Alerts) []string {
	var names []string
	for _, a := range alerts {
		if n := a.Labels["alertname"]; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}
