package authz

import (
	"context"
	"maps"
	"slices"
	"sort"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// checkable maps, per resource type, every permission a check or lookup may name to the
// token grant function it exercises (T3). A test proves that every name gatehouse.zed
// declares is here or in internal, so a new permission without a decided function fails
// CI, and at run time a name in neither is refused.
var checkable = map[string]map[string]string{
	schema.TypePlatform: {schema.PermSuperAdmin: tokens.FuncAdmin, schema.PermManage: tokens.FuncAdmin},
	schema.TypeOrg: {schema.PermRead: tokens.FuncRead, schema.PermManage: tokens.FuncManage,
		schema.PermCreateRepo: tokens.FuncWrite},
	schema.TypeTeam: {schema.PermRead: tokens.FuncRead, schema.PermManage: tokens.FuncManage},
	schema.TypeRepo: {schema.PermRead: tokens.FuncRead, schema.PermWrite: tokens.FuncWrite,
		schema.PermDelete: tokens.FuncDelete, schema.PermManageACL: tokens.FuncManage},
	schema.TypePipeline: {schema.PermRead: tokens.FuncRead, schema.PermManage: tokens.FuncManage},
	schema.TypeBucket:   {schema.PermRead: tokens.FuncRead, schema.PermManage: tokens.FuncManage},
}

// internal lists, per type, the schema's relations and building-block permissions
// (schema.Relations and schema.InternalPermissions): stored facts and intermediate steps
// (reader_role, *_agents, open, gate, unlocked...) that skip the gates the permissions
// above apply (admin-only mode, ACL-only orgs). They are not permissions: a check or
// lookup naming one is refused with 400 (hole 8).
var internal = func() map[string][]string {
	out := map[string][]string{}
	for _, typ := range schema.Types {
		names := slices.Sorted(maps.Keys(schema.Relations[typ]))
		out[typ] = append(names, schema.InternalPermissions[typ]...)
	}
	return out
}()

// Checkable returns the permissions a check may name on typ, sorted.
func Checkable(typ string) []string {
	out := make([]string, 0, len(checkable[typ]))
	for p := range checkable[typ] {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// CheckableTypes returns the resource types a check or lookup may name, sorted.
func CheckableTypes() []string {
	out := make([]string, 0, len(checkable))
	for t := range checkable {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// FunctionFor names the grant function that permission on typ exercises; false when the
// permission is not one callers may ask about (then the answer is deny).
func FunctionFor(typ, permission string) (string, bool) {
	f, ok := checkable[typ][permission]
	return f, ok
}

// CheckPermission validates that a check or lookup may name permission on typ: 400
// naming field when it is empty, internal to the schema, or unknown.
func CheckPermission(field, typ, permission string) error {
	if permission == "" {
		return apperr.InvalidField(field, "is required")
	}
	if _, ok := checkable[typ]; !ok {
		return apperr.InvalidField(field, "%s has no permissions to check (types with permissions: %v)", typ, CheckableTypes())
	}
	if slices.Contains(internal[typ], permission) {
		return apperr.InvalidField(field, "%q is an internal relation of the schema, not a permission (permissions of %s: %v)",
			permission, typ, Checkable(typ))
	}
	if _, ok := checkable[typ][permission]; !ok {
		return apperr.InvalidField(field, "%q is not a permission of %s (known: %v)", permission, typ, Checkable(typ))
	}
	return nil
}

// CheckResourceType validates the resource type of a lookup.
func CheckResourceType(field, typ string) error {
	if _, ok := checkable[typ]; !ok {
		return apperr.InvalidField(field, "%q is not a resource type with permissions (known: %v)", typ, CheckableTypes())
	}
	return nil
}

// CheckGrant applies p's grants to a question about p's own owner (self): effective
// access is the token's grants intersected with the owner's permissions (T3). About
// another subject (asked with MayInspect's leave) the grants do not apply. A permission
// without a grant function is denied.
func CheckGrant(p tokens.Principal, self bool, res relations.Object, permission string) bool {
	f, ok := FunctionFor(res.Type, permission)
	if !ok {
		return false
	}
	return !self || p.Allows(f, res.Type, identity.OrgOf(res))
}

// grantsCheck reports whether one of p's grants names the check function explicitly and
// covers typ in org. A "*" function does not confer check: anyone may mint role admin
// (every function) for themselves, but only platform admins mint check (T3).
func grantsCheck(p tokens.Principal, typ, org string) bool {
	for _, g := range p.Grants {
		if slices.Contains(g.Functions, tokens.FuncCheck) && g.Allows(tokens.FuncCheck, typ, org) {
			return true
		}
	}
	return false
}

// MayInspect decides whether p may ask about subjects other than its owner on resources
// of type typ in org ("*" for any): platform admins, and tokens granted the check
// function (data services) while the power behind that grant still holds (T3).
func (a *Authorizer) MayInspect(ctx context.Context, p tokens.Principal, typ, org string) error {
	if grantsCheck(p, typ, org) {
		backed, err := a.checkBacked(ctx, p)
		if err != nil || backed {
			return err
		}
		return apperr.Forbid("this token's check function was granted by %s, who is no longer a platform admin: a token never does more than its owner can now (T3)",
			minterOf(p))
	}
	admin, err := a.PlatformAdmin(ctx, p)
	if err != nil || admin {
		return err
	}
	return apperr.Forbid("asking about a subject other than yourself needs a platform admin or a token granted the check function on %s", typ)
}

// checkBacked reports whether the check function in p's grants is still backed now (T3):
// only a platform admin mints it (Mint), so at each use its owner must be a platform
// admin now, as an unscoped token of the owner would need to be; or, for a token a
// platform admin minted for another subject (a data service's robot), that minter must
// still be one. A root token (no minter) is backed by its owner alone. The minter is
// asked first: a data service's token then costs one check per request.
func (a *Authorizer) checkBacked(ctx context.Context, p tokens.Principal) (bool, error) {
	if p.ParentSubject != "" && p.ParentSubject != p.Subject {
		ok, err := a.IsPlatformAdmin(ctx, tokens.Principal{Subject: p.ParentSubject})
		if err != nil || ok {
			return ok, err
		}
	}
	return a.IsPlatformAdmin(ctx, p)
}

// minterOf names who granted p its powers: its minter, else its owner.
func minterOf(p tokens.Principal) string {
	if p.ParentSubject != "" {
		return p.ParentSubject
	}
	return p.Subject
}
