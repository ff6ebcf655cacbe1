package lint

// parseCheck reports what makes Prometheus refuse a rule file: YAML errors, unknown
// fields, bad names, templates that do not parse. The loader produces its findings,
// and they cannot be disabled: Prometheus would not load the file.
type parseCheck struct{}

func (parseCheck) ID() string         { return "rule/parse" }
func (parseCheck) Severity() Severity { return Error }
func (parseCheck) Doc() string {
	return "The file loads in Prometheus: YAML, fields, names and templates as model/rulefmt checks them."
}
