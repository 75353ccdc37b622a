// Package guard keeps the invariants that a SpiceDB schema cannot say, on every
// relationship write of the process. New wraps a relations.Engine; every write through
// it (Write, Import, DeleteMatching), whichever route or service it came from, is
// checked before it is applied:
//
//   - P2: while the platform is activated it keeps at least one platform admin
//     (platform:root#admin): a write never removes the last one (409 last_admin).
//   - O2, O3: a write never removes the last direct admin of an org (org:<o>#admin, any
//     subject kind) (409 last_admin). An org created without an admin may stay so.
//   - O4: no team contains itself, directly or through other teams (409 team_cycle,
//     naming the cycle).
//   - R4: a repo has exactly one bucket config (repo#bucket), an existing config of the
//     repo's own org (vending reads the repo's stored config, never this relationship).
//   - PL3, PL4: `agent` relationships (user|robot|sa#agent@pipeline:P) lend P its creator's
//     rights, so they are written only by pipeline creation, through AllowAgentLink.
//   - O1, O2, O4: an object named in an org (repo, pipeline, bucket, team, service
//     account) has #org naming that org only, an org's repos are open to its own members
//     only, and its roles and teams hold its own teams and API keys only: a raw write
//     never adopts another org's object or lets another org name its people (orglinks.go).
//   - PL1, PL4: pipeline wiring (repo#input_of, repo#output_of, pipeline#creator) is
//     written only by the pipeline service, through AllowPipelineLinks (pipelines.go).
//
// Each invariant is one serialized section across every process sharing the store: the
// guard holds the store's named lock (store Lock, contract C1) while it reads, checks and
// writes, and adds SpiceDB preconditions where they express the invariant, so two
// concurrent writes can never both pass a check that only one of them may pass.
// Deactivation (P3) and org deletion lift the last-admin rules through explicit
// privileged contexts (Deactivating, DeletingOrg).
package guard

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Store is what the guard needs of Gatehouse's own store (contract C1): named locks
// exclusive across every process sharing the store, and the activation record.
type Store interface {
	// Lock runs fn while holding the lock called name, exclusive across every process
	// sharing the store. fn gets a ctx canceled with ctx. Returns fn's error.
	Lock(ctx context.Context, name string, fn func(ctx context.Context) error) error
	// Activation reports whether and when the platform was activated (P1).
	Activation(ctx context.Context) (at time.Time, activated bool, err error)
	// GetBucket returns org's bucket config called nickname, store.ErrNotFound when
	// absent (R4: a repo#bucket relationship names an existing config of the repo's org).
	GetBucket(ctx context.Context, org, nickname string) (store.BucketConfig, error)
}

// Lock names, one per invariant, taken in this order when a write needs several.
const (
	LockPlatformAdmins = "guard/P2/platform-admins"
	LockOrgAdmins      = "guard/O2/org-admins"
	LockTeams          = "guard/O4/team-cycles"
	LockBuckets        = "guard/R4/repo-buckets"
)

// New returns engine with every relationship write guarded by the invariants above.
// Reads, checks and schema calls pass through unchanged.
func New(engine relations.Engine, st Store) relations.Engine {
	return &guarded{Engine: engine, st: st}
}

// Unwrap returns the guarded engine, so relations.Revision sees through the guard.
func (g *guarded) Unwrap() relations.Engine { return g.Engine }

type guarded struct {
	relations.Engine
	st Store
}

// needs is the set of invariants a write touches.
type needs struct {
	platformAdmins, orgAdmins, teams, buckets bool
}

func (n needs) locks() []string {
	var out []string
	for _, l := range []struct {
		on   bool
		name string
	}{{n.platformAdmins, LockPlatformAdmins}, {n.orgAdmins, LockOrgAdmins}, {n.teams, LockTeams}, {n.buckets, LockBuckets}} {
		if l.on {
			out = append(out, l.name)
		}
	}
	return out
}

// needsOf says which invariants updates touch. Deletes can only break the last-admin
// rules; additions only the others. Privileged contexts lift the last-admin rules.
func needsOf(ctx context.Context, updates []relations.Update) needs {
	var n needs
	lifted := isDeactivating(ctx)
	for _, u := range updates {
		r := u.Relationship
		switch {
		case isPlatformAdmin(r):
			// Removals are checked unless deactivating; additions need the activation record.
			n.platformAdmins = n.platformAdmins || u.Operation != relations.OpDelete || !lifted
		case isOrgAdmin(r) && u.Operation == relations.OpDelete:
			n.orgAdmins = n.orgAdmins || !lifted
		case isTeamEdge(r) && u.Operation != relations.OpDelete:
			n.teams = true
		case isBucketLink(r) && u.Operation != relations.OpDelete:
			n.buckets = true
		}
	}
	return n
}

// locked runs fn holding every lock in names, in order (so two writes needing the same
// locks never deadlock).
func (g *guarded) locked(ctx context.Context, names []string, fn func(ctx context.Context) error) error {
	if len(names) == 0 {
		return fn(ctx)
	}
	return g.st.Lock(ctx, names[0], func(ctx context.Context) error {
		return g.locked(ctx, names[1:], fn)
	})
}

// check runs the checks n asks for over updates and returns the preconditions that keep
// them true in SpiceDB itself. field names the updates in errors ("updates"; "": none).
func (g *guarded) check(ctx context.Context, n needs, updates []relations.Update, field string) ([]relations.Precondition, error) {
	var pres []relations.Precondition
	steps := []struct {
		on bool
		fn func(context.Context, []relations.Update, string) ([]relations.Precondition, error)
	}{
		{n.platformAdmins, g.keepPlatformAdmin},
		{n.orgAdmins, g.keepOrgAdmins},
		{n.teams, g.noTeamCycle},
		{n.buckets, g.oneBucketPerRepo},
	}
	for _, s := range steps {
		if !s.on {
			continue
		}
		p, err := s.fn(ctx, updates, field)
		if err != nil {
			return nil, err
		}
		pres = append(pres, p...)
	}
	return pres, nil
}

// Write checks updates against every invariant they touch, under those invariants'
// locks, and applies them with the caller's preconditions and the guard's own.
func (g *guarded) Write(ctx context.Context, updates []relations.Update, preconditions []relations.Precondition) (string, error) {
	if err := refuseAgentLinks(ctx, updates, fieldsOf(ctx)); err != nil {
		return "", err
	}
	if err := refusePipelineLinks(ctx, updates, fieldsOf(ctx)); err != nil { // contract D2
		return "", err
	}
	if err := refuseForeignOrgLinks(ctx, updates, fieldsOf(ctx)); err != nil { // O1 (h/attack)
		return "", err
	}
	if err := refuseStructuralDeletes(ctx, updates); err != nil { // O1, R4 (structural.go)
		return "", err
	}
	n := needsOf(ctx, updates)
	var token string
	err := g.locked(ctx, n.locks(), func(ctx context.Context) error {
		// A failed guard precondition means a writer that does not hold the lock (an
		// unguarded process) changed what the check read: nothing was applied, so check
		// again once, which answers with the invariant's own error or succeeds.
		for attempt := 0; ; attempt++ {
			pres, err := g.check(ctx, n, updates, fieldsOf(ctx))
			if err != nil {
				return err
			}
			token, err = g.Engine.Write(ctx, updates, append(slices.Clone(preconditions), pres...))
			if len(pres) == 0 || attempt > 0 || !errors.Is(err, relations.ErrPrecondition) {
				return err
			}
		}
	})
	return token, err
}

// Import checks the relationships like touches of one write, under the same locks, then
// imports them. It writes in batches without preconditions: the locks keep it safe
// against every other guarded writer.
func (g *guarded) Import(ctx context.Context, rels []relations.Relationship) (int, error) {
	updates := make([]relations.Update, len(rels))
	for i, r := range rels {
		updates[i] = relations.Update{Operation: relations.OpTouch, Relationship: r}
	}
	if err := refuseAgentLinks(ctx, updates, fieldsOf(ctx)); err != nil {
		return 0, err
	}
	if err := refusePipelineLinks(ctx, updates, fieldsOf(ctx)); err != nil { // contract D2
		return 0, err
	}
	if err := refuseForeignOrgLinks(ctx, updates, fieldsOf(ctx)); err != nil { // O1 (h/attack)
		return 0, err
	}
	n := needsOf(ctx, updates)
	var count int
	err := g.locked(ctx, n.locks(), func(ctx context.Context) error {
		if _, err := g.check(ctx, n, updates, fieldsOf(ctx)); err != nil {
			return err
		}
		var err error
		count, err = g.Engine.Import(ctx, rels)
		return err
	})
	return count, err
}

// DeleteMatching checks the relationships f matches that an invariant guards (platform
// and org admins) as deletes of one write, under those locks, then deletes.
func (g *guarded) DeleteMatching(ctx context.Context, f relations.Filter) (string, error) {
	var n needs
	if !isDeactivating(ctx) {
		n.platformAdmins = mayMatch(f, platformType, adminRelation)
		n.orgAdmins = mayMatch(f, orgType, adminRelation)
	}
	var token string
	err := g.locked(ctx, n.locks(), func(ctx context.Context) error {
		var deletes []relations.Update
		for _, rt := range []struct {
			on  bool
			typ string
		}{{n.platformAdmins, platformType}, {n.orgAdmins, orgType}} {
			if !rt.on {
				continue
			}
			d, err := g.matching(ctx, f, rt.typ, adminRelation)
			if err != nil {
				return err
			}
			deletes = append(deletes, d...)
		}
		if _, err := g.check(ctx, n, deletes, ""); err != nil {
			return err
		}
		var err error
		token, err = g.Engine.DeleteMatching(ctx, f)
		return err
	})
	return token, err
}

// mayMatch reports whether filter f can match relationships of typ#relation.
func mayMatch(f relations.Filter, typ, relation string) bool {
	return f.ResourceType == typ && (f.Relation == "" || f.Relation == relation)
}

// matching reads, at full consistency, the typ#relation relationships f matches, as deletes.
func (g *guarded) matching(ctx context.Context, f relations.Filter, typ, relation string) ([]relations.Update, error) {
	if !mayMatch(f, typ, relation) {
		return nil, nil
	}
	f.Relation = relation
	rels, err := g.Engine.Read(ctx, f, relations.Consistency{Full: true})
	if err != nil {
		return nil, err
	}
	out := make([]relations.Update, len(rels))
	for i, r := range rels {
		out[i] = relations.Update{Operation: relations.OpDelete, Relationship: r}
	}
	return out, nil
}
