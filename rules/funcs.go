package rules

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	promtemplate "github.com/prometheus/prometheus/template"
)

// testFuncs let a unit-test template follow the values a site sets: a test for a
// 10s `for` evaluates at other times than one for 5m, and a threshold of 85 needs
// other sample values than one of 80. Unit tests sample every minute.
var testFuncs = template.FuncMap{
	"add": func(a, b any) int { return toInt(a) + toInt(b) },
	// minutes is a duration rounded up to whole minutes.
	"minutes": minutes,
	// firesAt is the first evaluation, at one-minute intervals, at which an alert
	// whose condition became true at minute start has been pending for d.
	"firesAt": func(start int, d model.Duration) string {
		return fmt.Sprintf("%dm", start+minutes(d))
	},
	// pendingAt is the last evaluation before firesAt: still pending, or (for a zero
	// `for`) the minute before the condition.
	"pendingAt": func(start int, d model.Duration) string {
		return fmt.Sprintf("%dm", start+minutes(d)-1)
	},
	// flaps is n sample values that change n times after a 1, then tail samples
	// holding the last value.
	"flaps": func(n, tail any) string {
		var b strings.Builder
		v := 1
		for range toInt(n) {
			v = 1 - v
			fmt.Fprintf(&b, "%d ", v)
		}
		fmt.Fprintf(&b, "%dx%d", v, toInt(tail))
		return b.String()
	},
	// above and below are sample values clearly on either side of a positive threshold.
	"above": func(x any) number { return number(toFloat(x) * 1.5) },
	"below": func(x any) number { return number(toFloat(x) / 2) },
	// between is the value halfway between a and b.
	"between": func(a, b any) number { return number((toFloat(a) + toFloat(b)) / 2) },
	"mul":     func(a, b any) number { return number(toFloat(a) * toFloat(b)) },
	// sub is a - b, for sample values that add up to a whole, such as used and free
	// memory.
	"sub": func(a, b any) number { return number(toFloat(a) - toFloat(b)) },
	// min is the smaller of a and b, such as the minutes of a range that a series has
	// filled so far.
	"min": func(a, b any) number { return number(math.Min(toFloat(a), toFloat(b))) },
	// humanizeSeconds is what Prometheus's humanizeDuration prints for x seconds,
	// computed by Prometheus's own template code so that the two cannot differ.
	"humanizeSeconds": func(x any) (string, error) {
		return expandPrometheusTemplate("{{ . | humanizeDuration }}", toFloat(x))
	},
	// humanize is what Prometheus's humanize prints for x.
	"humanize": func(x any) (string, error) {
		return expandPrometheusTemplate("{{ . | humanize }}", toFloat(x))
	},
	// counterRate is rate(c[window]) at minute at, per second, of a counter c that is 0
	// at minute 0 and grows by perMinute each minute: before a whole window of samples
	// exists, Prometheus divides what it has by the whole window.
	"counterRate": func(perMinute, windowMinutes, at any) number {
		m := min(toFloat(at), toFloat(windowMinutes))
		return number(toFloat(perMinute) / 60 * m / toFloat(windowMinutes))
	},
	// humanizePercent is what Prometheus's humanizePercentage prints for x.
	"humanizePercent": func(x any) (string, error) {
		return expandPrometheusTemplate("{{ . | humanizePercentage }}", toFloat(x))
	},
}

func minutes(d model.Duration) int {
	return int(math.Ceil(float64(time.Duration(d)) / float64(time.Minute)))
}

func expandPrometheusTemplate(text string, data float64) (string, error) {
	e := promtemplate.NewTemplateExpander(context.Background(), text, "pack", data, 0, nil, &url.URL{}, nil)
	return e.Expand()
}

func toInt(x any) int {
	switch v := x.(type) {
	case int:
		return v
	case number:
		return int(v)
	case float64:
		return int(v)
	}
	panic(fmt.Sprintf("not a number: %v (%T)", x, x))
}

func toFloat(x any) float64 {
	switch v := x.(type) {
	case int:
		return float64(v)
	case number:
		return float64(v)
	case float64:
		return v
	}
	panic(fmt.Sprintf("not a number: %v (%T)", x, x))
}
