package schema_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// readsScenario is one kind of check, repeated on fresh objects so no answer is cached.
type readsScenario struct {
	name  string
	rels  func(i int) []string // relationships of instance i
	check func(i int) string   // the check of instance i, as resource#permission@subject
	want  bool
}

var readsScenarios = []readsScenario{
	{"user_member_mode", func(i int) []string {
		return []string{org(i, "m"), fmt.Sprintf("org:m%d#repos_open_to@org:m%d", i, i), fmt.Sprintf("org:m%d#member@user:u%d", i, i), repo("m", i)}
	}, func(i int) string { return fmt.Sprintf("repo:m%d/r#read@user:u%d", i, i) }, true},
	{"user_acl_reader", func(i int) []string {
		return []string{org(i, "a"), fmt.Sprintf("org:a%d#member@user:u%d", i, i), repo("a", i), fmt.Sprintf("repo:a%d/r#reader@user:u%d", i, i)}
	}, func(i int) string { return fmt.Sprintf("repo:a%d/r#read@user:u%d", i, i) }, true},
	{"user_acl_denied", func(i int) []string {
		return []string{org(i, "d"), fmt.Sprintf("org:d%d#member@user:u%d", i, i), repo("d", i)}
	}, func(i int) string { return fmt.Sprintf("repo:d%d/r#read@user:u%d", i, i) }, false},
	{"user_org_admin_write", func(i int) []string {
		return []string{org(i, "o"), fmt.Sprintf("org:o%d#admin@user:u%d", i, i), repo("o", i)}
	}, func(i int) string { return fmt.Sprintf("repo:o%d/r#write@user:u%d", i, i) }, true},
	{"pipeline_reads_input", func(i int) []string {
		return []string{org(i, "p"), fmt.Sprintf("org:p%d#member@user:u%d", i, i), repo("p", i),
			fmt.Sprintf("repo:p%d/r#reader@user:u%d", i, i), fmt.Sprintf("user:u%d#agent@pipeline:p%d/j", i, i),
			fmt.Sprintf("repo:p%d/r#input_of@pipeline:p%d/j", i, i)}
	}, func(i int) string { return fmt.Sprintf("repo:p%d/r#read@pipeline:p%d/j", i, i) }, true},
	{"pipeline_writes_output", func(i int) []string {
		return []string{org(i, "w"), fmt.Sprintf("org:w%d#member@user:u%d", i, i), repo("w", i),
			fmt.Sprintf("repo:w%d/r#owner@user:u%d", i, i), fmt.Sprintf("user:u%d#agent@pipeline:w%d/j", i, i),
			fmt.Sprintf("repo:w%d/r#output_of@pipeline:w%d/j", i, i)}
	}, func(i int) string { return fmt.Sprintf("repo:w%d/r#write@pipeline:w%d/j", i, i) }, true},
	// PL1: a pipeline asking for a repo it is not wired to, its creator a reader there (as in
	// `make bench`): denied, however much its creator may do.
	{"pipeline_not_wired", func(i int) []string {
		return []string{org(i, "n"), fmt.Sprintf("org:n%d#member@user:u%d", i, i), repo("n", i),
			fmt.Sprintf("repo:n%d/r#reader@user:u%d", i, i), fmt.Sprintf("user:u%d#agent@pipeline:n%d/j", i, i)}
	}, func(i int) string { return fmt.Sprintf("repo:n%d/r#read@pipeline:n%d/j", i, i) }, false},
}

func org(i int, kind string) string { return fmt.Sprintf("org:%s%d#platform@platform:root", kind, i) }
func repo(kind string, i int) string {
	return fmt.Sprintf("repo:%s%d/r#org@org:%s%d", kind, i, kind, i)
}

// TestDatastoreReadsPerCheck measures, on an embedded SpiceDB (memory datastore), how many
// datastore queries each kind of check costs when nothing is cached (issue 8.10), from
// SpiceDB's own spicedb_datastore_query_latency counts: asking the public permission, and
// asking the one schema.SubjectPermission routes to. It prints one "READS" line per kind
// and fails when routing saves nothing or a routed check takes more than maxReads (the
// issue's goal is 8; this shape does not reach it: see the report in the commit log).
// Answers run concurrently inside SpiceDB, so counts vary by a read or two; the dearest
// routed kinds cost about 16, so maxReads catches a reshaping that adds a walk.
func TestDatastoreReadsPerCheck(t *testing.T) {
	const n, maxReads = 20, 20
	ctx := t.Context()
	text := schema.Text
	if f := os.Getenv("GATEHOUSE_READS_SCHEMA"); f != "" { // compare another shape
		b, err := os.ReadFile(f) //nolint:gosec // G304: a file the developer names
		require.NoError(t, err)
		text = string(b)
	}
	e, err := relations.NewEmbedded(ctx, relations.EmbeddedConfig{})
	require.NoError(t, err)
	defer func() { _ = e.Close() }()
	require.NoError(t, e.WriteSchema(ctx, text))
	perms, ok := relations.PermissionsClient(e)
	require.True(t, ok)

	rels := []string{"platform:root#admin@user:root", "platform:root#unlocked@user:*", "platform:root#unlocked@robot:*",
		"platform:root#unlocked@serviceaccount:*", "platform:root#unlocked@pipeline:*"}
	for _, s := range readsScenarios {
		for i := range 2 * n { // 0..n-1 for the public permission, n..2n-1 routed
			rels = append(rels, s.rels(i)...)
		}
	}
	write(ctx, t, perms, rels)
	for _, s := range readsScenarios {
		full := readsPerCheck(ctx, t, perms, s, n, false)
		routed := readsPerCheck(ctx, t, perms, s, n, true)
		fmt.Printf("READS %s per_check=%.1f routed=%.1f\n", s.name, full, routed)
		if os.Getenv("GATEHOUSE_READS_NOFAIL") == "" {
			require.Less(t, routed, full, "%s: routing by subject type must save reads", s.name)
			require.LessOrEqual(t, routed, float64(maxReads), "%s: datastore queries per routed check", s.name)
		}
	}
}

// readsPerCheck runs the n checks of s (through schema.SubjectPermission when routed) and
// returns the datastore queries per check.
func readsPerCheck(ctx context.Context, t *testing.T, perms v1.PermissionsServiceClient, s readsScenario, n int, routed bool) float64 {
	t.Helper()
	before := datastoreQueries(t)
	first := 0
	if routed {
		first = n // fresh objects: the dispatch cache holds the first pass's sub-answers
	}
	for i := first; i < first+n; i++ {
		rel := tuple.MustParseV1Rel(s.check(i))
		perm := rel.Relation
		if routed {
			perm = schema.SubjectPermission(rel.Resource.ObjectType, perm, schema.APIType(rel.Subject.Object.ObjectType))
		}
		resp, err := perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			Resource:    rel.Resource, Permission: perm, Subject: rel.Subject,
		})
		require.NoError(t, err)
		allowed := resp.Permissionship == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
		require.Equal(t, s.want, allowed, "%s (%s)", s.check(i), perm)
	}
	return float64(datastoreQueries(t)-before) / float64(n)
}

func write(ctx context.Context, t *testing.T, perms v1.PermissionsServiceClient, rels []string) {
	t.Helper()
	for len(rels) > 0 {
		batch := rels[:min(100, len(rels))]
		rels = rels[len(batch):]
		req := &v1.WriteRelationshipsRequest{}
		for _, r := range batch {
			req.Updates = append(req.Updates, &v1.RelationshipUpdate{
				Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: tuple.MustParseV1Rel(r)})
		}
		_, err := perms.WriteRelationships(ctx, req)
		require.NoError(t, err)
	}
}

// datastoreQueries is the number of datastore queries SpiceDB has made in this process.
func datastoreQueries(t *testing.T) uint64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	var total uint64
	for _, f := range families {
		if f.GetName() != "spicedb_datastore_query_latency" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				// relationship reads; not schema reads or the head revision
				if l.GetName() == "operation" && strings.HasSuffix(l.GetValue(), "QueryRelationships") {
					total += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return total
}
