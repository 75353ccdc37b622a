package deploy

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDockerfile (issue 10.4): the image is built in stages from pinned bases, as a static
// (CGO_ENABLED=0), -trimpath binary stamped with the VERSION, and runs as a numeric
// non-root user; the build context leaves out .git and the manifests.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	var froms []string
	user := ""
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			froms = append(froms, fields[1])
			user = "" // USER counts in the final stage only
		case "USER":
			user = fields[1]
		}
	}
	require.GreaterOrEqual(t, len(froms), 2, "a multi-stage build")
	for _, f := range froms {
		if f == "scratch" {
			continue
		}
		checkImage(t, "Dockerfile FROM", f)
	}
	require.Regexp(t, `^[0-9]+(:[0-9]+)?$`, user, "the final stage runs as a numeric USER (runAsNonRoot can verify it)")
	uid, _ := strconv.Atoi(strings.Split(user, ":")[0])
	require.Positive(t, uid, "the final stage's USER is not root")
	require.Regexp(t, regexp.MustCompile(`(?m)^\s+CGO_ENABLED=0 GOOS=linux go build -trimpath\b`), string(data), "a static, trimmed build")
	for _, want := range []string{"-X main.version=${VERSION}", "--mount=type=cache,target=/go/pkg/mod"} {
		require.Contains(t, string(data), want)
	}
	require.Regexp(t, regexp.MustCompile(`(?m)^ENTRYPOINT \["/gatehouse"\]$`), string(data))

	ignore, err := os.ReadFile("../.dockerignore")
	require.NoError(t, err)
	for _, want := range []string{".git", "deploy", "bin"} {
		require.Contains(t, strings.Fields(string(ignore)), want, ".dockerignore leaves out %s", want)
	}
}
