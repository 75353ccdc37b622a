package tests

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestR5RepoStartsFromACleanSlate: relationships written for a repo's name before the
// repo exists (a platform admin's raw grant) do not come alive when the repo is created:
// the new repo holds its org, its config and its creator as owner, nothing else (R1, R5).
func TestR5RepoStartsFromACleanSlate(t *testing.T) {
	e := startVendEnv(t, "memory")
	e.bucketConfigs(t, "acme", "lake")
	e.write(t, touch("repo:acme/future#reader@user:spy@example.com", "repo:acme/future#owner@user:spy@example.com"))
	require.False(t, e.check(t, e.admin, "repo:acme/future", "read", "user:spy@example.com", e.writtenAt),
		"a repo that does not exist yet lets nobody read it")

	e.createRepo(t, "acme", "future", "")
	require.False(t, e.check(t, e.admin, "repo:acme/future", "read", "user:spy@example.com", ""),
		"a grant planted before the repo existed came alive with it")
	require.ElementsMatch(t, []string{
		"repo:acme/future#org@org:acme", "repo:acme/future#bucket@bucket:acme/lake", "repo:acme/future#owner@robot:admin",
	}, e.read(t, "resource=repo:acme/future"))
}
