package config

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// syntaxError names the line of a file the YAML parser refused: "yaml: line N: msg"
// becomes "name:N: YAML: msg". The parser's errors without a line (bytes that are not
// UTF-8, nesting too deep, control characters, the end of the file) get the line they
// are on.
func syntaxError(name string, b []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		return fmt.Errorf("%s:%d: YAML: %s", name, line, strings.TrimSpace(msg[strings.Index(msg, ":")+1:]))
	}
	if !utf8.Valid(b) {
		line, col, bad := firstInvalidUTF8(b)
		return fmt.Errorf("%s:%d: the file is not UTF-8: byte 0x%02x at column %d", name, line, bad, col)
	}
	switch {
	case strings.Contains(msg, "max depth"):
		line = deepestLine(b)
	case strings.Contains(msg, "end of stream"):
		line = bytes.Count(bytes.TrimRight(b, "\n"), []byte("\n")) + 1
	case strings.Contains(msg, "control characters") && bytes.IndexFunc(b, isControl) >= 0:
		line = bytes.Count(b[:bytes.IndexFunc(b, isControl)], []byte("\n")) + 1
	default:
		// The parser leaves out the line only when it is the first (its marks count
		// from 0, and 0 means unknown to it).
		line = 1
	}
	return fmt.Errorf("%s:%d: YAML: %s", name, line, msg)
}

// isControl is what the YAML reader refuses: control characters other than tab and
// line breaks.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f && r != 0x85)
}

// emptyError is the error for a file without a document: only blanks or comments.
func emptyError(name string) error {
	return fmt.Errorf("%s:1: the file is empty: a config needs receivers and default_receivers (start from examples/alertrouter.yml)", name)
}

// isEmpty reports whether a parsed file holds no document.
func isEmpty(root *yaml.Node) bool {
	return root.Kind == 0 || (root.Kind == yaml.DocumentNode && len(root.Content) == 0)
}

func firstInvalidUTF8(b []byte) (line, col int, bad byte) {
	line, col = 1, 1
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return line, col, b[0]
		}
		if r == '\n' {
			line, col = line+1, 0
		}
		col++
		b = b[size:]
	}
	return line, col, 0
}

// deepestLine finds where a document nests deepest: the line where flow collections
// ([ and {, outside quotes and comments) first reach their deepest, or, for block
// nesting, the most indented line.
func deepestLine(b []byte) int {
	line, depth, maxDepth, maxLine := 1, 0, 0, 1
	indent, maxIndent, indentLine, atLineStart := 0, -1, 1, true
	var quote byte
	comment := false
	for _, c := range b {
		switch {
		case c == '\n':
			line, comment, atLineStart, indent = line+1, false, true, 0
			continue
		case atLineStart && c == ' ':
			indent++
			continue
		case atLineStart:
			atLineStart = false
			if indent > maxIndent {
				maxIndent, indentLine = indent, line
			}
		}
		switch {
		case comment:
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			comment = true
		case c == '[' || c == '{':
			if depth++; depth > maxDepth {
				maxDepth, maxLine = depth, line
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	if maxDepth > 100 {
		return maxLine
	}
	return indentLine
}
