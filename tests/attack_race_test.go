package tests

// R5, O1: deleting an org races a repo being created in it. The org's deletion checks
// that it has no repos and then deletes its relationships and rows; a repo created in
// between must either stop the deletion or be refused, never half survive it (its owner
// grant and bucket link left dangling, waiting for a new org and repo of the same names).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/repos"
	"github.com/gatehouse-dev/gatehouse/roles"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

const orgRaceRounds = 40

// slowOrgDelete pauses an org deletion after its repo check (it lists the org's API keys
// next), so that a repo creation can land in between.
type slowOrgDelete struct{ store.Store }

func (s slowOrgDelete) ListAPIKeys(ctx context.Context, org string) ([]store.APIKey, error) {
	pause(6 * time.Millisecond)
	return s.Store.ListAPIKeys(ctx, org)
}

func TestR5OrgDeleteRepoCreateRace(t *testing.T) {
	for _, backend := range []string{"memory", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			engine, st := raceBackend(t, backend)
			a := newDataReplica(t, engine, st)
			b := a
			rel := guard.New(engine, st)
			og := orgs.New(rel, slowOrgDelete{st}, nil, "example.com")
			owner := relations.Subject{Object: relations.Object{Type: "user", ID: "ann@example.com"}}
			outcomes := map[string]int{}
			for i := range orgRaceRounds {
				org := fmt.Sprintf("race%d", i)
				_, err := og.Create(ctx, "robot:admin", org)
				require.NoError(t, err)
				_, err = a.buckets.Create(ctx, "robot:admin", org, buckets.Input{Nickname: "main", URI: fmt.Sprintf("s3://org-race-%d", i),
					Auth: credentials.Auth{Type: credentials.AuthSelfManaged}, Default: true})
				require.NoError(t, err)
				errs := releaseTogether(
					func() error { return og.Delete(ctx, org) },
					func() error { _, _, err := b.repos.Create(ctx, owner, org, "r", ""); return err },
				)
				outcomes[fmt.Sprintf("delete_ok=%t create_ok=%t", errs[0] == nil, errs[1] == nil)]++
				left, err := rel.Read(ctx, relations.Filter{ResourceType: "repo", ResourceID: org + "/r"}, relations.Consistency{Full: true})
				require.NoError(t, err)
				_, rowErr := a.st.GetRepo(ctx, org, "r")
				if errs[0] == nil { // the org is gone: nothing of the repo may remain (R5)
					require.Empty(t, left, "round %d: %v", i, errs)
					require.ErrorIs(t, rowErr, store.ErrNotFound, "round %d: a repo row in a deleted org", i)
					continue
				}
				require.NoError(t, errs[1], "round %d: the deletion failed (%v) but not because of the repo", i, errs[0])
				require.NoError(t, rowErr)
				require.Len(t, left, 3, "round %d: the repo is whole", i)
			}
			fmt.Printf("RACE org_delete_vs_repo_create backend=%s rounds=%d outcomes=%v\n", backend, orgRaceRounds, outcomes)
		})
	}
}

// raceBackend is one SpiceDB and one store: the memory ones, or PostgreSQL for both.
func raceBackend(t *testing.T, backend string) (relations.Engine, store.Store) {
	t.Helper()
	ctx := context.Background()
	cfg, st := relations.EmbeddedConfig{}, store.Store(store.NewMemory())
	if backend == "postgres" {
		db := harness.StartPostgres(t)
		sql, err := store.NewSQL(ctx, db)
		require.NoError(t, err)
		t.Cleanup(sql.Close)
		require.NoError(t, sql.Migrate(ctx))
		cfg, st = relations.EmbeddedConfig{DatastoreEngine: "postgres", DatastoreURI: db}, sql
	}
	engine, err := relations.NewEmbedded(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = engine.Close() })
	require.NoError(t, engine.WriteSchema(ctx, schema.Text))
	return engine, st
}

// TestO3R5OrgDeleteMemberAddRace: a member, team, team member or API key added while
// the org is deleted either lands before (and goes with the org) or is refused; never a
// membership left behind that a new org of the same name would inherit.
func TestO3R5OrgDeleteMemberAddRace(t *testing.T) {
	ctx := context.Background()
	engine, st := raceBackend(t, "memory")
	rel := guard.New(engine, st)
	og := orgs.New(rel, slowOrgDelete{st}, nil, "example.com")
	outcomes := map[string]int{}
	for i := range orgRaceRounds {
		org := fmt.Sprintf("mrace%d", i)
		_, err := og.Create(ctx, "robot:admin", org)
		require.NoError(t, err)
		require.NoError(t, og.CreateTeam(ctx, org, "t"))
		errs := releaseTogether(
			func() error { return og.Delete(ctx, org) },
			func() error { _, err := og.SetMember(ctx, org, "bob@example.com", orgs.RoleMember); return err },
			func() error { _, err := og.AddTeamMember(ctx, org, "t", "user:carl@example.com"); return err },
			func() error { return og.CreateTeam(ctx, org, "u") },
		)
		outcomes[fmt.Sprintf("delete_ok=%t", errs[0] == nil)]++
		require.NoError(t, errs[0], "round %d", i)
		for _, f := range []relations.Filter{{ResourceType: "org", ResourceID: org}, {ResourceType: "team", ResourceID: org + "/t"}, {ResourceType: "team", ResourceID: org + "/u"}} {
			left, err := engine.Read(ctx, f, relations.Consistency{Full: true})
			require.NoError(t, err)
			require.Empty(t, left, "round %d: left behind by a write racing the deletion %v", i, errs)
		}
	}
	fmt.Printf("RACE org_delete_vs_member_add backend=memory rounds=%d outcomes=%v\n", orgRaceRounds, outcomes)
}

// TestR5RepoDeleteRoleSetRace: a role set while its repo is deleted either lands before
// (and goes with the repo) or is refused: never a grant left on a deleted repo, which a
// repo created again under the name would inherit (R5, R2).
func TestR5RepoDeleteRoleSetRace(t *testing.T) {
	for _, backend := range []string{"memory", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			engine, st := raceBackend(t, backend)
			a := newDataReplica(t, engine, st)
			rel := guard.New(engine, st)
			rs := roles.New(rel)
			og := orgs.New(rel, st, nil, "example.com")
			_, err := og.Create(ctx, "robot:admin", "acme")
			require.NoError(t, err)
			_, err = a.buckets.Create(ctx, "robot:admin", "acme", buckets.Input{Nickname: "main", URI: "s3://role-race-" + backend,
				Auth: credentials.Auth{Type: credentials.AuthSelfManaged}, Default: true})
			require.NoError(t, err)
			owner := relations.Subject{Object: relations.Object{Type: "user", ID: "ann@example.com"}}
			dan := relations.Subject{Object: relations.Object{Type: "user", ID: "dan@example.com"}}
			outcomes := map[string]int{}
			for i := range orgRaceRounds {
				name := fmt.Sprintf("r%d", i)
				_, _, err := a.repos.Create(ctx, owner, "acme", name, "")
				require.NoError(t, err)
				errs := releaseTogether(
					func() error { return a.repos.Delete(ctx, "acme", name) },
					func() error { _, err := rs.Set(ctx, repos.Object("acme", name), dan, "writer"); return err },
				)
				require.NoError(t, errs[0], "round %d", i)
				outcomes[fmt.Sprintf("set_ok=%t", errs[1] == nil)]++
				left, err := engine.Read(ctx, relations.Filter{ResourceType: "repo", ResourceID: "acme/" + name}, relations.Consistency{Full: true})
				require.NoError(t, err)
				require.Empty(t, left, "round %d: a grant outlived its repo %v", i, errs)
			}
			fmt.Printf("RACE repo_delete_vs_role_set backend=%s rounds=%d outcomes=%v\n", backend, orgRaceRounds, outcomes)
		})
	}
}
