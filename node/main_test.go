package node

import (
	"os"
	"testing"
)

// TestMain lets the crash test re-run this test binary as a child process
// that hosts a cluster until it is killed (see crash_test.go). Without the
// environment variable it just runs the tests.
func TestMain(m *testing.M) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		os.Exit(runCrashChild(spec))
	}
	os.Exit(m.Run())
}
