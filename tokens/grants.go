package tokens

import (
	"fmt"
	"slices"
)

// Grant allows Functions on Resources (resource types) in Orgs; "*" matches anything (T3).
type Grant struct {
	Functions []string `json:"functions" yaml:"functions"`
	Resources []string `json:"resources" yaml:"resources"`
	Orgs      []string `json:"orgs" yaml:"orgs"`
}

// Functions a grant may name. "check" lets a data service ask about subjects other than
// itself; "admin" is platform and org administration.
var Functions = []string{"read", "write", "delete", "manage", "check", "admin", "*"}

// Resources a grant may name.
var Resources = []string{"repo", "bucket", "pipeline", "org", "team", "relationship", "audit", "platform", "token", "schema", "*"}

// Roles are named bundles of grants.
var Roles = map[string][]Grant{
	"admin":     {{Functions: []string{"*"}, Resources: []string{"*"}, Orgs: []string{"*"}}},
	"developer": {{Functions: []string{"read", "write", "delete"}, Resources: []string{"repo", "pipeline"}, Orgs: []string{"*"}}, {Functions: []string{"read"}, Resources: []string{"org", "team", "bucket"}, Orgs: []string{"*"}}},
	"auditor":   {{Functions: []string{"read"}, Resources: []string{"*"}, Orgs: []string{"*"}}},
	"checker":   {{Functions: []string{"check", "read"}, Resources: []string{"*"}, Orgs: []string{"*"}}},
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
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

// Allows reports whether the grant covers function on resourceType in org. An empty org
// (an act outside any org, such as platform administration) needs a "*" org.
func (g Grant) Allows(function, resourceType, org string) bool {
	if org == "" {
		org = "*"
	}
	return match(g.Functions, function) && match(g.Resources, resourceType) &&
		(slices.Contains(g.Orgs, "*") || slices.Contains(g.Orgs, org))
}

// AdminPower reports whether the grant confers administration (T4).
func (g Grant) AdminPower() bool {
	return match(g.Functions, "admin") || match(g.Functions, "manage")
}
