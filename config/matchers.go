package config

import (
	"log/slog"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
)

// Matchers are read as Alertmanager reads them by default: with its UTF-8 parser (label
// names such as service.name, quoted names), falling back to the classic one for what
// only that one takes (an unquoted regexp). One parser for routes, filters,
// acknowledgements and silences, so that a matcher means the same wherever it is typed,
// and a silence's matchers read back as they were written.
var (
	parseMatchers = compat.FallbackMatchersParser(slog.New(slog.DiscardHandler))
	parseMatcher  = compat.FallbackMatcherParser(slog.New(slog.DiscardHandler))
)

// ParseMatchers reads matchers: `{a="b", c=~"d.*"}` or `a="b", c=~"d.*"`.
func ParseMatchers(s string) (labels.Matchers, error) { return parseMatchers(s, "alertrouter") }

// ParseMatcher reads one matcher: `a="b"`.
func ParseMatcher(s string) (*labels.Matcher, error) { return parseMatcher(s, "alertrouter") }
