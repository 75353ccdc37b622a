package orgs

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

const bob = "user:bob@example.com"

func repoObj(id string) relations.Object { return relations.Object{Type: schema.TypeRepo, ID: id} }

// seedBob gives bob, a member of org, what the repos and pipelines routes would: reader
// of <org>/in from an admin, reader of <org>/shared through team <org>/t, owner of the
// repo he created, <org>/bobs (R1), and pipeline <org>/p reading <org>/in into
// <org>/bobs (PL2), wired as the pipelines service wires it.
func (f *fixture) seedBob(t *testing.T, org string) {
	t.Helper()
	_, err := f.orgs.SetMember(f.ctx, org, "bob@example.com", RoleMember)
	require.NoError(t, err)
	require.NoError(t, f.orgs.CreateTeam(f.ctx, org, "t"))
	_, err = f.orgs.AddTeamMember(f.ctx, org, "t", bob)
	require.NoError(t, err)
	u := sub(relations.Object{Type: schema.TypeUser, ID: "bob@example.com"}, "")
	o := sub(orgObj(org), "")
	in, shared, bobs := repoObj(org+"/in"), repoObj(org+"/shared"), repoObj(org+"/bobs")
	_, err = f.rel.Write(f.ctx, []relations.Update{
		touch(rel(in, schema.RelOrg, o)), touch(rel(shared, schema.RelOrg, o)), touch(rel(bobs, schema.RelOrg, o)),
		touch(rel(in, schema.RelReader, u)),
		touch(rel(shared, schema.RelReader, sub(teamObj(org, "t"), schema.RelMember))),
		touch(rel(bobs, schema.RelOwner, u)),
	}, nil)
	require.NoError(t, err)
	p := relations.Object{Type: schema.TypePipeline, ID: org + "/p"}
	ps := sub(p, "")
	agent := rel(u.Object, schema.RelAgent, ps)
	links := []relations.Relationship{rel(p, schema.RelCreator, u), rel(in, schema.RelInputOf, ps), rel(bobs, schema.RelOutputOf, ps)}
	ctx := guard.AllowPipelineLinks(guard.AllowAgentLink(f.ctx, agent), links...)
	updates := []relations.Update{touch(rel(p, schema.RelOrg, o)), touch(agent)}
	for _, l := range links {
		updates = append(updates, touch(l))
	}
	_, err = f.rel.Write(ctx, updates, nil)
	require.NoError(t, err)
}

// TestRemoveMemberRemovesDirectGrants: O3, PL3. Removing bob from acme takes, at the
// next check, his direct repo roles, his team memberships and the repos he created, and
// so his pipeline's access; his pipeline stays wired to him; his grants in another org
// stay. Re-adding him gives member access only, none of the old grants.
func TestRemoveMemberRemovesDirectGrants(t *testing.T) {
	f := newFixture(t)
	for _, org := range []string{"acme", "beta"} {
		_, err := f.orgs.Create(f.ctx, "robot:admin", org)
		require.NoError(t, err)
		_, err = f.orgs.SetRepoAccess(f.ctx, org, store.RepoAccessACLOnly)
		require.NoError(t, err)
		f.seedBob(t, org)
	}
	p := relations.Object{Type: schema.TypePipeline, ID: "acme/p"}
	in, shared, bobs := repoObj("acme/in"), repoObj("acme/shared"), repoObj("acme/bobs")
	require.True(t, f.can(t, in, schema.PermRead, bob))
	require.True(t, f.can(t, shared, schema.PermRead, bob))
	require.True(t, f.can(t, bobs, schema.PermManageACL, bob))
	require.True(t, f.can(t, in, schema.PermRead, "pipeline:acme/p"))
	require.True(t, f.can(t, bobs, schema.PermWrite, "pipeline:acme/p"))

	require.NoError(t, f.orgs.RemoveMember(f.ctx, "acme", "bob@example.com"))
	require.False(t, f.can(t, in, schema.PermRead, bob), "O3: his direct grant is gone")
	require.False(t, f.can(t, shared, schema.PermRead, bob), "O3: his team membership is gone")
	require.False(t, f.can(t, bobs, schema.PermRead, bob), "O3: the repo he created is no longer his")
	require.False(t, f.can(t, in, schema.PermRead, "pipeline:acme/p"), "PL3: his pipeline loses its input")
	require.False(t, f.can(t, bobs, schema.PermWrite, "pipeline:acme/p"), "PL3: and its output")
	creator, err := f.rel.Read(f.ctx, relations.Filter{ResourceType: p.Type, ResourceID: p.ID, Relation: schema.RelCreator}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Len(t, creator, 1, "the pipeline stays wired to its creator")
	agent, err := f.rel.Read(f.ctx, relations.Filter{ResourceType: schema.TypeUser, ResourceID: "bob@example.com", Relation: schema.RelAgent}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Len(t, agent, 2, "his agent links stay, in both orgs")

	for _, r := range []relations.Object{repoObj("beta/in"), repoObj("beta/shared"), repoObj("beta/bobs")} {
		require.True(t, f.can(t, r, schema.PermRead, bob), "another org is untouched: %s", r)
	}
	require.True(t, f.can(t, repoObj("beta/in"), schema.PermRead, "pipeline:beta/p"))

	_, err = f.orgs.SetRepoAccess(f.ctx, "acme", store.RepoAccessMembers)
	require.NoError(t, err)
	_, err = f.orgs.SetMember(f.ctx, "acme", "bob@example.com", RoleMember)
	require.NoError(t, err)
	require.True(t, f.can(t, in, schema.PermWrite, bob), "O2: re-added, a member again")
	require.False(t, f.can(t, bobs, schema.PermManageACL, bob), "O3: but not the owner of his old repo")
	team, err := f.rel.Read(f.ctx, relations.Filter{ResourceType: schema.TypeTeam, ResourceID: "acme/t", Relation: schema.RelMember}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Empty(t, team, "O3: nor in his old team")
}

// TestRemoveLastAdminKeepsGrants: O2, O3. The removal is one guarded write: removing the
// org's last admin is refused and then nothing, his grants included, is removed.
func TestRemoveLastAdminKeepsGrants(t *testing.T) {
	f := newFixture(t)
	_, err := f.orgs.Create(f.ctx, "robot:admin", "acme")
	require.NoError(t, err)
	_, err = f.orgs.SetRepoAccess(f.ctx, "acme", store.RepoAccessACLOnly)
	require.NoError(t, err)
	f.seedBob(t, "acme")
	_, err = f.orgs.SetMember(f.ctx, "acme", "bob@example.com", RoleAdmin)
	require.NoError(t, err)
	members, err := f.orgs.Members(f.ctx, "acme")
	require.NoError(t, err)
	for _, m := range members {
		if m.Subject != bob {
			_, err = f.rel.Write(f.ctx, []relations.Update{del(rel(orgObj("acme"), schema.RelAdmin, mustSubject(t, m.Subject)))}, nil)
			require.NoError(t, err)
		}
	}

	err = f.orgs.RemoveMember(f.ctx, "acme", "bob@example.com")
	require.Equal(t, apperr.Conflict, apperr.KindOf(err), "O2: the last admin stays")
	require.True(t, f.can(t, repoObj("acme/in"), schema.PermRead, bob), "nothing half-applied")
	require.True(t, f.can(t, repoObj("acme/bobs"), schema.PermManageACL, bob))
	require.True(t, f.can(t, repoObj("acme/in"), schema.PermRead, "pipeline:acme/p"))
}

func mustSubject(t *testing.T, s string) relations.Subject {
	t.Helper()
	sub, err := relations.ParseSubject(s)
	require.NoError(t, err)
	return sub
}

// TestRemoveMemberPastWriteLimit: O3. A person holding more relationships in the org
// than one SpiceDB write can delete is refused with a clear error, and nothing changes.
func TestRemoveMemberPastWriteLimit(t *testing.T) {
	f := newFixture(t)
	_, err := f.orgs.Create(f.ctx, "robot:admin", "acme")
	require.NoError(t, err)
	_, err = f.orgs.SetMember(f.ctx, "acme", "bob@example.com", RoleMember)
	require.NoError(t, err)
	u := mustSubject(t, bob)
	updates := make([]relations.Update, 0, maxRemovalUpdates)
	for i := range maxRemovalUpdates {
		updates = append(updates, touch(rel(repoObj(fmt.Sprintf("acme/r%d", i)), schema.RelReader, u)))
	}
	_, err = f.rel.Write(f.ctx, updates, nil)
	require.NoError(t, err)

	err = f.orgs.RemoveMember(f.ctx, "acme", "bob@example.com")
	require.Equal(t, apperr.Invalid, apperr.KindOf(err))
	require.ErrorContains(t, err, "1002 relationships")
	members, err := f.orgs.Members(f.ctx, "acme")
	require.NoError(t, err)
	require.Contains(t, members, Member{Subject: bob, Role: RoleMember}, "nothing changed")
	grants, err := f.rel.Read(f.ctx, relations.Filter{ResourceType: schema.TypeRepo, SubjectType: u.Object.Type, SubjectID: u.Object.ID}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Len(t, grants, maxRemovalUpdates)
}
