package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium binary; the /usr/bin/chromium wrapper
// works too but prints a warning on every start.
const ChromiumPath = "/usr/lib/chromium/chromium"

// Browser starts one headless chromium for the test (see Need when it is
// not installed) and returns a tab's context; the browser ends with the
// test. opts come after the common flags (chromedp's defaults, no sandbox,
// no GPU, a fresh profile), so a test can add or override one, such as a
// window size. The first action starts the browser, so Browser runs it
// here, without a timeout: a timeout on it would end the browser with it.
func Browser(t testing.TB, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	_, err := os.Stat(ChromiumPath)
	Need(t, err == nil, "chromium is not installed at "+ChromiumPath+" (apt-get install chromium)")
	all := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
		chromedp.NoSandbox, // required as root; the pages under test are our own
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
	)
	all = append(all, opts...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), all...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Eval runs a script in the browser's current page and decodes its value,
// failing the test if it does not answer within 10 s.
func Eval[T any](t testing.TB, ctx context.Context, script string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("evaluate %s: %v", script, err)
	}
	return v
}

// WaitScript polls a script in the browser until it is true, failing the
// test after timeout. It survives the page reloading itself in between (a
// job page does when its job ends), which a poll run inside the page
// would not.
func WaitScript(t testing.TB, ctx context.Context, timeout time.Duration, what, script string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](script))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s (last error: %v)", timeout, what, err)
		}
		<-tick.C
	}
}
