package guard

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/relations"
)

// The privileged paths. Each is a context value that only Go code of this process can
// set: no request body or route can, so what a client sends never lifts an invariant.
type (
	deactivatingKey struct{}
	deletingOrgKey  struct{}
	agentLinksKey   struct{}
	fieldsKey       struct{}
)

// NamingUpdates marks ctx as a write whose caller spelled its updates as a list named
// field (the relationships route: "updates"), so refusals name the offending one
// ("updates[2].relationship"). Without it refusals name no field: a dedicated route's
// caller wrote no such list.
func NamingUpdates(ctx context.Context, field string) context.Context {
	return context.WithValue(ctx, fieldsKey{}, field)
}

func fieldsOf(ctx context.Context) string {
	f, _ := ctx.Value(fieldsKey{}).(string)
	return f
}

// Deactivating marks ctx as platform deactivation (P3), the one act that may delete
// every platform and org admin: the last-admin rules (P2, O2) do not apply to writes
// made with it. The other invariants still do.
func Deactivating(ctx context.Context) context.Context {
	return context.WithValue(ctx, deactivatingKey{}, "deactivation")
}

// Undoing marks ctx as undoing what this process itself wrote moments before and must
// take back (a failed activation or API-key creation) or what an interrupted act left
// behind (orgs.Reconcile): the last-admin rules (P2, O2) do not apply, since the state
// the writes return to is one that had no such admin. The other invariants still do.
func Undoing(ctx context.Context) context.Context {
	return context.WithValue(ctx, deactivatingKey{}, "undo")
}

// isDeactivating reports whether the last-admin rules are lifted (Deactivating, Undoing).
func isDeactivating(ctx context.Context) bool {
	reason, _ := ctx.Value(deactivatingKey{}).(string)
	return reason != ""
}

// DeletingOrg marks ctx as the deletion of org: writes made with it may remove the org's
// last admin (O2), since the org itself goes.
func DeletingOrg(ctx context.Context, org string) context.Context {
	prev, _ := ctx.Value(deletingOrgKey{}).(map[string]bool)
	next := make(map[string]bool, len(prev)+1)
	for k := range prev {
		next[k] = true
	}
	next[org] = true
	return context.WithValue(ctx, deletingOrgKey{}, next)
}

func isDeletingOrg(ctx context.Context, org string) bool {
	orgs, _ := ctx.Value(deletingOrgKey{}).(map[string]bool)
	return orgs[org]
}

// AllowAgentLink lets writes made with ctx add exactly rels, `agent` relationships
// (user:U#agent@pipeline:P and the like). Only pipeline creation calls it, for the
// pipeline's creator (PL3): an agent link lends the pipeline its subject's rights, so any
// other is refused (PL4).
func AllowAgentLink(ctx context.Context, rels ...relations.Relationship) context.Context {
	prev, _ := ctx.Value(agentLinksKey{}).(map[relations.Relationship]bool)
	next := make(map[relations.Relationship]bool, len(prev)+len(rels))
	for k := range prev {
		next[k] = true
	}
	for _, r := range rels {
		next[r] = true
	}
	return context.WithValue(ctx, agentLinksKey{}, next)
}

func agentLinkAllowed(ctx context.Context, r relations.Relationship) bool {
	allowed, _ := ctx.Value(agentLinksKey{}).(map[relations.Relationship]bool)
	return allowed[r]
}
