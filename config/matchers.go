package config

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
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

// ParseLabels reads labels given as name=value pairs (equality matchers): what
// `route test` and the console's route tester route.
func ParseLabels(pairs []string) (model.LabelSet, error) {
	ls := model.LabelSet{}
	for _, p := range pairs {
		m, err := ParseMatcher(p)
		if err != nil || m.Type != labels.MatchEqual {
			return nil, fmt.Errorf("label %q: want name=value", p)
		}
		ls[model.LabelName(m.Name)] = model.LabelValue(m.Value)
	}
	return ls, nil
}
