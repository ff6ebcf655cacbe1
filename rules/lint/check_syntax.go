package lint

// syntaxCheck reports expressions that PromQL cannot parse; the loader produces its
// findings, and they cannot be disabled.
type syntaxCheck struct{}

func (syntaxCheck) ID() string         { return "promql/syntax" }
func (syntaxCheck) Severity() Severity { return Error }
func (syntaxCheck) Doc() string        { return "The expression parses as PromQL." }
