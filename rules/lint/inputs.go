package lint

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Load expands FILE, DIR and GLOB arguments and parses every rule file found.
// Directories are walked for .yml and .yaml files, skipping promtool unit-test files
// and hidden directories; a file named on the command line is always linted. It
// returns an error for every argument that matches nothing and every file that
// cannot be read; the files that could be read are still returned.
func Load(args []string) ([]*File, []error) {
	var paths []string
	var errs []error
	for _, arg := range args {
		found, err := expand(arg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		paths = append(paths, found...)
	}
	var unique []string
	seen := map[string]bool{}
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			unique = append(unique, p)
		}
	}
	// Files parse independently; parsing them on every core is what keeps a hundred
	// files as fast as promtool, which also parses every template.
	parsed := make([]*File, len(unique))
	readErrs := make([]error, len(unique))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				content, err := os.ReadFile(unique[i])
				if err != nil {
					readErrs[i] = err
					continue
				}
				parsed[i] = ParseFile(unique[i], content)
			}
		})
	}
	for i := range unique {
		next <- i
	}
	close(next)
	wg.Wait()
	var files []*File
	for i := range unique {
		if readErrs[i] != nil {
			errs = append(errs, readErrs[i])
		} else {
			files = append(files, parsed[i])
		}
	}
	return files, errs
}

func expand(arg string) ([]string, error) {
	info, err := os.Stat(arg)
	switch {
	case err == nil && info.IsDir():
		return walkDir(arg)
	case err == nil:
		return []string{arg}, nil
	case strings.ContainsAny(arg, "*?["):
		matches, gerr := filepath.Glob(arg)
		if gerr != nil {
			return nil, fmt.Errorf("%s: %w", arg, gerr)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s: no files match", arg)
		}
		var out []string
		for _, m := range matches {
			found, err := expand(m)
			if err != nil {
				return nil, err
			}
			out = append(out, found...)
		}
		return out, nil
	}
	return nil, err
}

func walkDir(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yml" && ext != ".yaml" {
			return nil
		}
		if isUnitTestFile(p) {
			return nil
		}
		out = append(out, p)
		return nil
	})
	if err == nil && len(out) == 0 {
		return nil, fmt.Errorf("%s: no .yml or .yaml rule files in this directory", root)
	}
	return out, err
}

// isUnitTestFile tells a promtool unit-test file (rule_files, tests) from a rule
// file, so that a directory holding both lints cleanly.
func isUnitTestFile(path string) bool {
	content, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(content, []byte("tests:")) {
		return false // Load reports read errors
	}
	var top map[string]yaml.Node
	if yaml.NewDecoder(bytes.NewReader(content)).Decode(&top) != nil {
		return false
	}
	_, hasTests := top["tests"]
	_, hasGroups := top["groups"]
	return hasTests && !hasGroups
}
