package authz

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// vendWorld is an ACL-only org of its own (no other test reads it): a repo with a reader,
// a writer and an owner; a pipeline of the writer's writing to it (its output) and one of
// the reader's reading it (its input).
var vendWorld = []string{
	"org:vendo#platform@platform:root",
	"org:vendo#member@user:rita@example.com", "org:vendo#member@user:wes@example.com",
	"org:vendo#member@user:olga@example.com",
	"repo:vendo/data#org@org:vendo",
	"repo:vendo/data#reader@user:rita@example.com",
	"repo:vendo/data#writer@user:wes@example.com",
	"repo:vendo/data#owner@user:olga@example.com",
	"user:wes@example.com#agent@pipeline:vendo/ingest", "repo:vendo/data#output_of@pipeline:vendo/ingest",
	"user:rita@example.com#agent@pipeline:vendo/peek", "repo:vendo/data#input_of@pipeline:vendo/peek",
	"repo:vendo/other#org@org:vendo",
}

func writeRels(t *testing.T, op relations.Operation, rels ...string) {
	t.Helper()
	var ups []relations.Update
	for _, s := range rels {
		r, err := relations.ParseRelationship(s)
		require.NoError(t, err, s)
		ups = append(ups, relations.Update{Operation: op, Relationship: r})
	}
	_, err := sharedEngine(t).Write(context.Background(), ups, nil)
	require.NoError(t, err)
}

// vendOK marks an allowed ask.
const vendOK apperr.Kind = -1

// vendCase is one ask: who, which repo, write or read, and the answer: nil (allowed),
// NotFound or Forbidden.
type vendCase struct {
	who   tokens.Principal
	repo  string
	write bool
	want  apperr.Kind // vendOK: allowed
}

func runVendCases(t *testing.T, a *Authorizer, cases []vendCase) {
	t.Helper()
	for _, c := range cases {
		err := a.VendCredentials(context.Background(), c.who, "vendo", c.repo, c.write)
		name := c.who.Subject + " " + c.who.Kind + " on " + c.repo
		if c.write {
			name += " write"
		}
		if c.want == vendOK {
			require.NoError(t, err, name)
			continue
		}
		require.Equal(t, c.want, apperr.KindOf(err), "%s: %v", name, err)
	}
}

// B6, PL3, T3, R3: read credentials need repo#read, write credentials repo#write; a repo
// the caller cannot read is 404 like an absent one; readable but not writable asked for
// write is 403; asking for less than one could get is allowed; pipelines and scoped
// tokens vend only within what their owner can do now.
func TestVendCredentialsDecision_B6_PL3_T3(t *testing.T) {
	writeRels(t, relations.OpTouch, vendWorld...)
	a := newAuthorizer(t)
	user := func(name string) tokens.Principal {
		return principal("user:"+name+"@example.com", "session", nil, "", time.Hour)
	}
	scoped := func(name string, fns []string, org string) tokens.Principal {
		g := []tokens.Grant{{Functions: fns, Resources: []string{"repo"}, Orgs: []string{org}}}
		return principal("user:"+name+"@example.com", "scoped", g, "t-parent", time.Hour)
	}
	pipeline := func(name string) tokens.Principal {
		return principal("pipeline:vendo/"+name, "pipeline", nil, "", time.Hour)
	}
	nf, fb := apperr.NotFound, apperr.Forbidden
	runVendCases(t, a, []vendCase{
		{user("rita"), "data", false, vendOK},
		{user("rita"), "data", true, fb},
		{user("wes"), "data", false, vendOK}, // less than one could get
		{user("wes"), "data", true, vendOK},
		{user("olga"), "data", true, vendOK},
		{user("eve"), "data", false, nf},
		{user("eve"), "data", true, nf},
		{user("wes"), "other", false, nf}, // ACL-only org: membership is not enough (O2)
		{user("wes"), "absent", false, nf},
		{principals["platform-admin"], "data", true, vendOK}, // R3
		{principals["platform-admin"], "absent", false, nf},
		{user("wes"), "Data*", false, nf},
		{scoped("wes", []string{"read"}, "vendo"), "data", false, vendOK},
		{scoped("wes", []string{"read"}, "vendo"), "data", true, fb},
		{scoped("wes", []string{"write"}, "vendo"), "data", true, fb}, // write credentials read too
		{scoped("wes", []string{"read", "write"}, "vendo"), "data", true, vendOK},
		{scoped("wes", []string{"read", "write"}, "acme"), "data", false, fb},
		{scoped("eve", []string{"*"}, "*"), "data", false, nf},
		{scoped("rita", []string{"*"}, "*"), "data", true, fb}, // grants never add to the owner's
		{pipeline("ingest"), "data", true, vendOK},
		{pipeline("peek"), "data", false, vendOK}, // its input, which its creator can read
		{pipeline("peek"), "data", true, fb},      // but not write: it is no output
		{pipeline("ingest"), "other", false, nf},
	})

	// The writer loses their role: at once, they, their scoped token and their pipeline
	// get nothing (no cached answer, no copied grant).
	writeRels(t, relations.OpDelete, "repo:vendo/data#writer@user:wes@example.com")
	runVendCases(t, a, []vendCase{
		{user("wes"), "data", false, nf},
		{scoped("wes", []string{"read", "write"}, "vendo"), "data", false, nf},
		{pipeline("ingest"), "data", false, nf},
		{pipeline("ingest"), "data", true, nf},
	})
	writeRels(t, relations.OpTouch, "repo:vendo/data#reader@user:wes@example.com")
	runVendCases(t, a, []vendCase{
		{user("wes"), "data", false, vendOK},
		{user("wes"), "data", true, fb},
		// A pipeline's output needs its creator's write (PL3): a reader's is nothing.
		{pipeline("ingest"), "data", false, nf},
		{pipeline("ingest"), "data", true, nf},
	})
}

// A denial says what is missing; an engine error denies (fails closed).
func TestVendCredentialsDenials(t *testing.T) {
	writeRels(t, relations.OpTouch, vendWorld...)
	a := newAuthorizer(t)
	rita := principal("user:rita@example.com", "session", nil, "", time.Hour)
	err := a.VendCredentials(context.Background(), rita, "vendo", "data", true)
	require.ErrorContains(t, err, "ask for read credentials")
	err = a.VendCredentials(context.Background(), principals["member"], "vendo", "data", false)
	require.ErrorContains(t, err, "no repo vendo/data")
	dead := New(deadEngine{}, nil)
	err = dead.VendCredentials(context.Background(), principals["platform-admin"], "vendo", "data", false)
	require.Error(t, err)
	require.NotEqual(t, apperr.NotFound, apperr.KindOf(err), "an engine failure is not an answer")
}
