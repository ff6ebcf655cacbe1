package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/receivers"
)

// SupportedVersion is the Alertmanager webhook payload version we accept.
const SupportedVersion = "4"

// Payload is a decoded, validated Alertmanager webhook (version 4).
type Payload struct {
	Version         string
	GroupKey        string
	TruncatedAlerts uint64
	Data            template.Data
}

// InputError is a problem with a request: Status is the HTTP status to answer with.
type InputError struct {
	Status int
	Msg    string
}

func (e *InputError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &InputError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// invalid is for well-formed JSON that does not make a valid payload.
func invalid(format string, args ...any) error {
	return &InputError{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf(format, args...)}
}

// wirePayload mirrors the JSON with times as strings, so that a bad time is reported
// with the field it is in rather than as a bare time.Parse error.
type wirePayload struct {
	Version            string            `json:"version"`
	GroupKey           string            `json:"groupKey"`
	TruncatedAlerts    uint64            `json:"truncatedAlerts"`
	Status             string            `json:"status"`
	Receiver           string            `json:"receiver"`
	GroupLabels        map[string]string `json:"groupLabels"`
	CommonLabels       map[string]string `json:"commonLabels"`
	CommonAnnotations  map[string]string `json:"commonAnnotations"`
	ExternalURL        string            `json:"externalURL"`
	NotificationReason string            `json:"notification_reason"`
	Alerts             []wireAlert       `json:"alerts"`
}

type wireAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// DecodePayload reads and validates one webhook body. Every error is an *InputError.
func DecodePayload(r io.Reader) (*Payload, error) {
	var w wirePayload
	body := &bodyReader{r: r}
	dec := json.NewDecoder(body)
	if err := dec.Decode(&w); err != nil {
		if body.err != nil {
			return nil, bodyError(body.err)
		}
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if body.err != nil {
			return nil, bodyError(body.err)
		}
		return nil, badRequest("malformed JSON: unexpected data after the payload")
	}
	if w.Version != SupportedVersion {
		return nil, invalid("version: unsupported payload version %q (want %q, as Alertmanager 0.25+ sends)", w.Version, SupportedVersion)
	}
	if err := checkStatus("status", w.Status); err != nil {
		return nil, err
	}
	if len(w.Alerts) == 0 {
		return nil, invalid("alerts: no alerts in payload")
	}
	p := &Payload{
		Version:         w.Version,
		GroupKey:        w.GroupKey,
		TruncatedAlerts: w.TruncatedAlerts,
		Data: template.Data{
			Receiver:           w.Receiver,
			Status:             w.Status,
			NotificationReason: w.NotificationReason,
			GroupLabels:        w.GroupLabels,
			CommonLabels:       w.CommonLabels,
			CommonAnnotations:  withoutLinks(w.CommonAnnotations),
			ExternalURL:        withoutNUL(w.ExternalURL),
			Alerts:             make(template.Alerts, 0, len(w.Alerts)),
		},
	}
	for i, wa := range w.Alerts {
		a, err := wa.decode(fmt.Sprintf("alerts[%d]", i))
		if err != nil {
			return nil, err
		}
		p.Data.Alerts = append(p.Data.Alerts, a)
	}
	return p, nil
}

func (wa *wireAlert) decode(path string) (template.Alert, error) {
	a := template.Alert{
		Status:       wa.Status,
		Labels:       wa.Labels,
		Annotations:  withoutLinks(wa.Annotations),
		GeneratorURL: wa.GeneratorURL,
		Fingerprint:  wa.Fingerprint,
	}
	if err := checkStatus(path+".status", wa.Status); err != nil {
		return a, err
	}
	if wa.Labels[model.AlertNameLabel] == "" {
		return a, invalid("%s.labels: alertname is missing", path)
	}
	for k, v := range wa.Labels {
		if !model.UTF8Validation.IsValidLabelName(k) || !utf8.ValidString(v) {
			return a, invalid("%s.labels: invalid label %q", path, k)
		}
	}
	var err error
	if a.StartsAt, err = parseTime(path+".startsAt", wa.StartsAt, true); err != nil {
		return a, err
	}
	if a.EndsAt, err = parseTime(path+".endsAt", wa.EndsAt, false); err != nil {
		return a, err
	}
	if a.Fingerprint == "" {
		a.Fingerprint = receivers.LabelSet(a.Labels).Fingerprint().String()
	}
	a.Fingerprint = withoutNUL(a.Fingerprint)
	for k, v := range a.Labels {
		a.Labels[k] = withoutNUL(v)
	}
	return a, nil
}

// withoutNUL is s with each NUL character replaced by U+FFFD. Label values may hold NUL,
// and so may what a sender other than Alertmanager calls a fingerprint or its URL; the
// stored rows name them (host groups, alert names, dedupe keys, sources), and PostgreSQL's
// text cannot hold NUL: such an alert would be refused at every retry, on one backend and
// not the other. The fingerprint is Alertmanager's, or computed before this, so that the
// copies of both Alertmanagers still match.
func withoutNUL(s string) string {
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// withoutLinks drops from annotations those that hold our action links: only alertrouter
// puts them there (router/actlinks.go), and messages show them as "Acknowledge" links,
// so one that came with an alert would be a link anybody could plant.
func withoutLinks(annotations map[string]string) map[string]string {
	for _, k := range receivers.LinkAnnotations {
		delete(annotations, k)
	}
	return annotations
}

func checkStatus(path, s string) error {
	if s != string(model.AlertFiring) && s != string(model.AlertResolved) {
		return invalid("%s: must be \"firing\" or \"resolved\", got %q", path, s)
	}
	return nil
}

func parseTime(path, s string, required bool) (time.Time, error) {
	if s == "" {
		if required {
			return time.Time{}, invalid("%s: missing", path)
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid("%s: %q is not an RFC 3339 time", path, s)
	}
	return t, nil
}

// bodyReader remembers what went wrong with the body itself, so that a body cut short or
// too slow is told from JSON that is cut short.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

// bodyError names what went wrong while reading the body.
func bodyError(err error) error {
	var maxErr *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &maxErr):
		return &InputError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body exceeds %d bytes", maxErr.Limit)}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &InputError{Status: http.StatusRequestTimeout, Msg: "the request body did not arrive within the server's read timeout"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the request body ended before its Content-Length: the client closed the connection early")
	}
	return badRequest("cannot read the request body: %v", err)
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return badRequest("malformed JSON: %s: expected %s, got %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return badRequest("malformed JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.Is(err, io.EOF):
		return badRequest("malformed JSON: empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of body")
	}
	return badRequest("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "map", "struct":
		return "object"
	case "slice":
		return "array"
	}
	return k
}
