// Package browsertest runs the console's tests in a real browser: Debian's chromium,
// headless, driven by chromedp. A test that fails leaves a screenshot of where it was.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// New starts a headless browser for t and returns its context (its first tab), good for
// timeout. Without chromium the test skips, or fails under ALERTROUTER_REQUIRE_INTEGRATION.
// When t fails, the tab's screenshot goes to $ALERTROUTER_ARTIFACTS (else the temporary
// directory), and its path to the log.
func New(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	testenv.SkipShort(t)
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		testenv.Missing(t, "chromium not installed (apt-get install chromium)")
		return nil
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// As root (CI, containers) chromium refuses to start in its sandbox.
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-US"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, tab)
		}
		cancel()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens the tab
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshot saves what the tab shows, for a failed test.
func screenshot(t *testing.T, tab context.Context) {
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	dir := os.Getenv("ALERTROUTER_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "alertrouter-artifacts")
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".png"
	if err := os.MkdirAll(dir, 0o755); err == nil {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err == nil {
			t.Logf("screenshot of the failure: %s", filepath.Join(dir, name))
			return
		}
	}
	t.Logf("cannot save the screenshot in %s", dir)
}

// Picture saves what the tab shows as name.png in $ALERTROUTER_SCREENSHOTS, when it is
// set: the README's pictures are taken this way.
func Picture(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ALERTROUTER_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
