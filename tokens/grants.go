package tokens

import (
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// Grant allows Functions on Resources (resource types) in Orgs; "*" matches anything (T3).
type Grant struct {
	Functions []string `json:"functions" yaml:"functions"`
	Resources []string `json:"resources" yaml:"resources"`
	Orgs      []string `json:"orgs" yaml:"orgs"`
}

// Grant functions: the API's grant vocabulary (T3), not schema permissions, though
// FuncRead, FuncWrite, FuncDelete and FuncManage spell like them. FuncCheck lets a data
// service ask about subjects other than itself; FuncAdmin is platform and org
// administration.
const (
	FuncRead   = "read"
	FuncWrite  = "write"
	FuncDelete = "delete"
	FuncManage = "manage"
	FuncCheck  = "check"
	FuncAdmin  = "admin"
	// Any matches every function, resource type or org in a grant.
	Any = "*"
)

// Functions a grant may name.
var Functions = []string{FuncRead, FuncWrite, FuncDelete, FuncManage, FuncCheck, FuncAdmin, Any}

// Grant resource types that are not schema types.
const (
	ResToken        = "token"
	ResRelationship = "relationship"
	ResAudit        = "audit"
	ResSchema       = "schema"
)

// Token kinds (MintRequest.Kind, Info.Kind): what minted a token.
const (
	KindUser   = "user"   // a person's own token
	KindRobot  = "robot"  // a robot's token
	KindScoped = "scoped" // a token with its own grants, minted from another
	KindAPIKey = "api_key"
)

// Resources a grant may name: the schema types a grant is checked against (their API
// names, so a grant on schema.TypeRepo covers checks on repos) and the resources of the
// API that are no schema type.
var Resources = []string{
	schema.TypeRepo, schema.TypeBucket, schema.TypePipeline, schema.TypeOrg, schema.TypeTeam,
	ResRelationship, ResAudit, schema.TypePlatform, ResToken, ResSchema, Any,
}

// Token roles (MintRequest.Role): the API's names of the bundles in Roles. RoleAdmin is
// no schema relation, though it spells like one.
const (
	RoleAdmin     = "admin"
	RoleDeveloper = "developer"
	RoleAuditor   = "auditor"
	RoleChecker   = "checker"
)

// Roles are named bundles of grants.
var Roles = map[string][]Grant{
	RoleAdmin: {{Functions: []string{Any}, Resources: []string{Any}, Orgs: []string{Any}}},
	RoleDeveloper: {
		{Functions: []string{FuncRead, FuncWrite, FuncDelete}, Resources: []string{schema.TypeRepo, schema.TypePipeline}, Orgs: []string{Any}},
		{Functions: []string{FuncRead}, Resources: []string{schema.TypeOrg, schema.TypeTeam, schema.TypeBucket}, Orgs: []string{Any}},
	},
	RoleAuditor: {{Functions: []string{FuncRead}, Resources: []string{Any}, Orgs: []string{Any}}},
	RoleChecker: {{Functions: []string{FuncCheck, FuncRead}, Resources: []string{Any}, Orgs: []string{Any}}},
}

// Validate reports the first unknown function or resource, or an empty list.
func (g Grant) Validate() error {
	if len(g.Functions) == 0 || len(g.Resources) == 0 || len(g.Orgs) == 0 {
		return fmt.Errorf("functions, resources and orgs must each name at least one entry")
	}
	for _, f := range g.Functions {
		if !slices.Contains(Functions, f) {
			return fmt.Errorf("unknown function %q (known: %v)", f, Functions)
		}
	}
	for _, r := range g.Resources {
		if !slices.Contains(Resources, r) {
			return fmt.Errorf("unknown resource type %q (known: %v)", r, Resources)
		}
	}
	for _, o := range g.Orgs {
		if o == "" {
			return fmt.Errorf("empty org name")
		}
	}
	return nil
}

func match(list []string, v string) bool {
	return slices.Contains(list, Any) || slices.Contains(list, v)
}

// Allows reports whether the grant covers function on resourceType in org. An empty org
// (an act outside any org, such as platform administration) needs a "*" org.
func (g Grant) Allows(function, resourceType, org string) bool {
	if org == "" {
		org = Any
	}
	return match(g.Functions, function) && match(g.Resources, resourceType) &&
		(slices.Contains(g.Orgs, Any) || slices.Contains(g.Orgs, org))
}

// AdminPower reports whether the grant confers administration (T4).
func (g Grant) AdminPower() bool {
	return match(g.Functions, FuncAdmin) || match(g.Functions, FuncManage)
}
