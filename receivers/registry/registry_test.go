package registry

import (
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/alertrouter/alertrouter/receivers"
)

// notIntegrations are the folders under receivers/ that hold no integration.
var notIntegrations = []string{"registry", "receivertest", "templates"}

// Every integration package under receivers/ is in the table, and the table names each
// once: a new receiver package without its line here fails this test.
func TestEveryReceiverPackageIsInTheTable(t *testing.T) {
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	var packages []string
	for _, e := range entries {
		if !e.IsDir() || slices.Contains(notIntegrations, e.Name()) {
			continue
		}
		if hasGoSource(t, filepath.Join("..", e.Name())) {
			packages = append(packages, e.Name())
		}
	}
	if len(packages) == 0 {
		t.Fatal("found no receiver packages")
	}
	inTable := map[string]string{} // package folder -> key
	for _, in := range All() {
		pkg := path.Base(reflect.TypeOf(in.NewConfig()).Elem().PkgPath())
		if other, dup := inTable[pkg]; dup {
			t.Errorf("package %s is in the table twice, as %q and %q", pkg, other, in.Key)
		}
		inTable[pkg] = in.Key
	}
	for _, pkg := range packages {
		if _, ok := inTable[pkg]; !ok {
			t.Errorf("receivers/%s is not in the integration table (registry.go)", pkg)
		}
	}
	for pkg, key := range inTable {
		if !slices.Contains(packages, pkg) {
			t.Errorf("the table's %q integration lives in %s, which is not a folder under receivers/", key, pkg)
		}
	}
}

func hasGoSource(t *testing.T, dir string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			return true
		}
	}
	return false
}

func TestKeysAreUniqueAndBuildMatchesItsConfig(t *testing.T) {
	seen := map[string]bool{}
	for _, in := range All() {
		if in.Key == "" || in.Key == "name" || seen[in.Key] {
			t.Errorf("bad or repeated key %q", in.Key)
		}
		seen[in.Key] = true
	}
	if !slices.Equal(Keys(), []string{"log", "webhook", "slack", "email", "aliyun_cms", "dingtalk", "wecom", "feishu"}) {
		t.Errorf("keys = %v", Keys())
	}
	// A config of another integration is a programming error, and says so.
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "slack integration built with a *log.Config") {
			t.Errorf("recovered %v", r)
		}
	}()
	slackEntry := All()[slices.Index(Keys(), "slack")]
	slackEntry.Build(All()[0].NewConfig(), receivers.Env{})
}
