package receivers

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Fit renders notifications within a destination's size limit, dropping alerts rather
// than cutting text where it can, and saying how many it dropped. Its zero Size counts
// bytes and its zero More is the English note.
type Fit struct {
	// Limit is the most a rendering may measure.
	Limit int
	// Size measures a rendering; len when nil. A receiver whose limit is on its whole
	// request measures the request the text would make.
	Size func(string) int
	// More is the line that ends a rendering that left n alerts out, starting with a
	// newline; English when nil (see Language.More).
	More func(n int) string
}

func (f Fit) size(s string) int {
	if f.Size == nil {
		return len(s)
	}
	return f.Size(s)
}

func (f Fit) more(n int) string {
	if f.More == nil {
		return English.More(n)
	}
	return f.More(n)
}

// Fits reports whether d renders within the limit with all its alerts.
func (f Fit) Fits(d *Data, render func(*Data) (string, error)) (bool, error) {
	out, err := validUTF8(render)(d)
	return err == nil && f.size(out) <= f.Limit, err
}

// Render renders d with render and, when the result is over the limit, renders it again
// with fewer alerts and the More line. It never renders fewer than one alert (templates
// may index the first); when one alert alone is too long, its rendering is cut, never
// inside a multi-byte character.
func (f Fit) Render(d *Data, render func(*Data) (string, error)) (string, error) {
	// Bytes that are not UTF-8 would grow when encoded (to U+FFFD) past the measure.
	render = validUTF8(render)
	out, err := render(d)
	if err != nil || f.size(out) <= f.Limit {
		return out, err
	}
	if len(d.Alerts) <= 1 {
		return f.cut(out, ""), nil
	}
	// The most alerts, from 1 to all but one, that fit with the note.
	lo, hi := 1, len(d.Alerts)-1
	best := ""
	for lo <= hi {
		n := (lo + hi) / 2
		c := *d
		c.Alerts = d.Alerts[:n]
		s, err := render(&c)
		if err != nil {
			return "", err
		}
		s = strings.TrimRight(s, "\n") + f.more(len(d.Alerts)-n)
		if f.size(s) <= f.Limit {
			best, lo = s, n+1
		} else {
			hi = n - 1
		}
	}
	if best != "" {
		return best, nil
	}
	// Even one alert is too long: cut its rendering, and keep the count.
	c := *d
	c.Alerts = d.Alerts[:1]
	s, err := render(&c)
	if err != nil {
		return "", err
	}
	return f.cut(s, f.more(len(d.Alerts)-1)), nil
}

func validUTF8(render func(*Data) (string, error)) func(*Data) (string, error) {
	return func(d *Data) (string, error) {
		s, err := render(d)
		return strings.ToValidUTF8(s, "\uFFFD"), err
	}
}

// cut shortens s, marked with an ellipsis, until s+note fits; the note goes when even it
// alone does not fit.
func (f Fit) cut(s, note string) string {
	if f.size(note) >= f.Limit {
		note = ""
	}
	if f.size(s+note) <= f.Limit {
		return s + note
	}
	// Size may count more than bytes (escapes): search the longest cut that fits.
	lo, hi, best := 0, len(s), note
	for lo <= hi {
		keep := (lo + hi) / 2
		if c := cutBytes(s, keep) + note; f.size(c) <= f.Limit {
			best, lo = c, keep+1
		} else {
			hi = keep - 1
		}
	}
	return best
}

const ellipsis = "…"

// cutBytes keeps at most keep bytes of s, not splitting a character, and marks the cut.
func cutBytes(s string, keep int) string {
	s = s[:keep]
	// Drop the last rune if the cut split it: at most utf8.UTFMax-1 bytes.
	for i := 0; i < utf8.UTFMax && len(s) > 0; i++ {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s + ellipsis
}

// TruncateBytes cuts s to at most limit bytes, never inside a character, and marks the
// cut with an ellipsis: for titles and excerpts that have a limit of their own.
func TruncateBytes(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	if limit <= len(ellipsis) {
		return ""
	}
	return cutBytes(s, limit-len(ellipsis))
}

// Truncated is Fit{Limit: limit}.Render: the rendering in at most limit bytes, with the
// English note.
func Truncated(d *Data, limit int, render func(*Data) (string, error)) (string, error) {
	return Fit{Limit: limit}.Render(d, render)
}

// Language is the language of a receiver's default texts: its default templates and the
// note that says how many alerts a message too long left out. The China IM robots default
// to Simplified Chinese.
type Language string

// The languages of the default texts.
const (
	Chinese Language = "zh"
	English Language = "en"
)

// Validate accepts zh and en; empty is Chinese.
func (l *Language) Validate() error {
	switch *l {
	case "":
		*l = Chinese
	case Chinese, English:
	default:
		return &FieldError{Field: "language", Msg: fmt.Sprintf("unknown language %q (want zh or en)", string(*l))}
	}
	return nil
}

// More is the line that ends a message that left n alerts out.
func (l Language) More(n int) string {
	if l == Chinese {
		return fmt.Sprintf("\n…另有 %d 条告警", n)
	}
	return fmt.Sprintf("\n... and %d more alerts", n)
}

// Template calls the default template of this language for a part of an IM message:
// title, markdown (the text of markdown messages and cards) or text (the text of plain
// text messages); templates/default.tmpl defines im.zh.title, im.en.title...
func (l Language) Template(part string) string {
	return fmt.Sprintf(`{{ template "im.%s.%s" . }}`, l, part)
}
