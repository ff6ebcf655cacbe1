package receivers

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Secret is a string that never prints: fmt, YAML and JSON all show "<secret>".
// Use string(s) where the real value is needed.
type Secret string

const hidden = "<secret>"

func (s Secret) String() string { return hidden }

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) {
	if s == "" {
		return "", nil
	}
	return hidden, nil
}

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) {
	if s == "" {
		return json.Marshal("")
	}
	return json.Marshal(hidden)
}

// ReadSecret returns inline when set, otherwise the trimmed content of file. The file is
// read on every call, as Prometheus does for credentials files, so that a rotated secret
// takes effect without a reload. The error names the file, never its content.
func ReadSecret(inline Secret, file string) (string, error) {
	if inline != "" || file == "" {
		return string(inline), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		// An empty credential would silently turn authentication off.
		return "", fmt.Errorf("read secret file %s: file is empty", file)
	}
	return secret, nil
}
