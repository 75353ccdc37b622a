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
	"github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/repos"
	"github.com/gatehouse-dev/gatehouse/store"
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
			// One App: bucket and repo calls jittered (jitter), the org deletion slowed.
			a := oneApp(t, backend, func(st store.Store) store.Store { return jitter(slowOrgDelete{st}) })
			b, og, rel := a, a.Orgs(), a.Engine()
			owner := relations.Subject{Object: relations.Object{Type: "user", ID: "ann@example.com"}}
			outcomes := map[string]int{}
			for i := range orgRaceRounds {
				org := fmt.Sprintf("race%d", i)
				_, err := og.Create(ctx, "robot:admin", org)
				require.NoError(t, err)
				_, err = a.Buckets().Create(ctx, "robot:admin", org, buckets.Input{Nickname: "main", URI: fmt.Sprintf("s3://org-race-%d", i),
					Auth: credentials.Auth{Type: credentials.AuthSelfManaged}, Default: true})
				require.NoError(t, err)
				errs := releaseTogether(
					func() error { return og.Delete(ctx, org) },
					func() error { _, _, err := b.Repos().Create(ctx, owner, org, "r", ""); return err },
				)
				outcomes[fmt.Sprintf("delete_ok=%t create_ok=%t", errs[0] == nil, errs[1] == nil)]++
				left, err := rel.Read(ctx, relations.Filter{ResourceType: "repo", ResourceID: org + "/r"}, relations.Consistency{Full: true})
				require.NoError(t, err)
				_, rowErr := a.Store().GetRepo(ctx, org, "r")
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

// TestO3R5OrgDeleteMemberAddRace: a member, team, team member or API key added while
// the org is deleted either lands before (and goes with the org) or is refused; never a
// membership left behind that a new org of the same name would inherit.
func TestO3R5OrgDeleteMemberAddRace(t *testing.T) {
	ctx := context.Background()
	a := oneApp(t, "memory", func(st store.Store) store.Store { return slowOrgDelete{st} })
	engine, og := a.Engine(), a.Orgs()
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
			a := oneApp(t, backend, jitter)
			engine, rs, og := a.Engine(), a.Roles(), a.Orgs()
			_, err := og.Create(ctx, "robot:admin", "acme")
			require.NoError(t, err)
			_, err = a.Buckets().Create(ctx, "robot:admin", "acme", buckets.Input{Nickname: "main", URI: "s3://role-race-" + backend,
				Auth: credentials.Auth{Type: credentials.AuthSelfManaged}, Default: true})
			require.NoError(t, err)
			owner := relations.Subject{Object: relations.Object{Type: "user", ID: "ann@example.com"}}
			dan := relations.Subject{Object: relations.Object{Type: "user", ID: "dan@example.com"}}
			outcomes := map[string]int{}
			for i := range orgRaceRounds {
				name := fmt.Sprintf("r%d", i)
				_, _, err := a.Repos().Create(ctx, owner, "acme", name, "")
				require.NoError(t, err)
				errs := releaseTogether(
					func() error { return a.Repos().Delete(ctx, "acme", name) },
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
