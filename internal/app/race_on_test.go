//go:build race

package app

// raceBuild is whether the tests run under the race detector, whose
// instrumentation makes every frame larger.
const raceBuild = true
