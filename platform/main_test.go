package platform_test

import (
	"os"
	"testing"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// TestMain stops the shared PostgreSQL cluster the P3 race test starts.
func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}
