package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats are the output formats of `rules lint`.
var Formats = []string{"text", "json", "github"}

// Write prints findings in one of Formats.
func Write(w io.Writer, format string, findings []Finding) error {
	switch format {
	case "text":
		for _, f := range findings {
			msg := f.Message
			if f.Rule != "" {
				msg = f.Rule + ": " + msg
			}
			if _, err := fmt.Fprintf(w, "%s:%d:%d: %s %s: %s\n", f.File, f.Line, f.Column, f.Severity, f.Check, oneLine(msg)); err != nil {
				return err
			}
		}
		return nil
	case "json":
		if findings == nil {
			findings = []Finding{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(findings)
	case "github":
		// GitHub Actions workflow commands: annotations on the pull request's diff.
		for _, f := range findings {
			level := map[Severity]string{Info: "notice", Warning: "warning", Error: "error"}[f.Severity]
			msg := f.Message
			if f.Rule != "" {
				msg = f.Rule + ": " + msg
			}
			if _, err := fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", level,
				ghProperty(f.File), f.Line, f.Column, ghProperty(f.Check), ghData(msg)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// oneLine keeps a finding on its line: messages from the YAML and PromQL parsers
// may span several.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var (
	ghDataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghPropertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func ghData(s string) string     { return ghDataEscaper.Replace(s) }
func ghProperty(s string) string { return ghPropertyEscaper.Replace(s) }
