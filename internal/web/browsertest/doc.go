// Package browsertest drives Parley's chat UI in a real headless Chromium
// (chromedp) against a running Parley: it sends messages and watches them
// stream, stops, retries, edits, reloads, feeds the page hostile markdown,
// takes the model down, and checks dark mode and phone width. Screenshots of
// the main states go to artifacts/screenshots at the repository root.
//
// The tests skip when no Chromium binary is installed; under CI=true they
// fail instead (.ci/run installs Debian's chromium package).
package browsertest
