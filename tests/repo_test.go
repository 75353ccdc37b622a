package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// maxTrackedBytes bounds every file the repository tracks: binaries and build outputs
// do not belong in it, and every clone would carry them.
const maxTrackedBytes = 1 << 20

func TestNoTrackedFileOverOneMB(t *testing.T) {
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git checkout: nothing is tracked")
	}
	dir := strings.TrimSpace(string(root))
	out, err := exec.Command("git", "-C", dir, "ls-files", "-z").Output()
	require.NoError(t, err)
	var big []string
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			continue // deleted in the work tree but not yet in the index
		}
		if fi.Size() > maxTrackedBytes {
			big = append(big, name)
		}
	}
	require.Empty(t, big, "tracked files over 1 MB: remove them and ignore them")
}
