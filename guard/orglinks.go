package guard

import (
	"context"
	"slices"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// Org links (O1, O2, O4, ID2): an object named inside an org (repo:<org>/<name>,
// pipeline:<org>/<name>, bucket:<org>/<nickname>, team:<org>/<team>,
// serviceaccount:<name>@<org>) belongs to that org, and only to it.
//
//   - Its #org relationship is what gives the org's members and admins their access to
//     it, so a raw write of repo:acme/x#org@org:beta would adopt acme's repo into beta,
//     and bucket:acme/main#org@org:beta would hand acme's config to beta's admins.
//   - org:<o>#repos_open_to links an org to itself (members mode, O2): naming another
//     org would open every repo of <o> to that org's members.
//   - An org's roles, its teams and its repos' roles hold its own teams, API keys and
//     members only: with org:acme#admin@team:beta/t#member beta's admins would name
//     acme's admins, and with repo:acme/x#writer@sa:etl@beta a key of beta would write
//     acme's data (ID2: a key belongs to one org).
//
// Every write adding such a relationship must keep the object in its own org. Deleting
// one is always allowed.

// refuseForeignOrgLinks refuses a write adding a relationship that crosses orgs as above.
func refuseForeignOrgLinks(_ context.Context, updates []relations.Update, field string) error {
	for i, u := range updates {
		r := u.Relationship
		if u.Operation == relations.OpDelete {
			continue
		}
		if own, ok := crossesOrgs(r); ok {
			return apperr.InvalidField(fieldOf(field, i),
				"%s crosses orgs: %s belongs to org %s, and so do its org link and its org's teams and API keys (O1, O4)", r, r.Resource, own)
		}
	}
	return nil
}

// crossesOrgs reports whether r ties an object of one org to another org, and names the
// resource's org.
func crossesOrgs(r relations.Relationship) (string, bool) {
	own := identity.OrgOf(r.Resource)
	if own == "" {
		return "", false
	}
	isOrg := r.Resource.Type == schema.TypeOrg
	switch {
	case r.Relation == schema.RelOrg && !isOrg, isOrg && r.Relation == schema.RelReposOpenTo:
		return own, !(r.Subject.Type == schema.TypeOrg && r.Subject.ID == own && r.Subject.Relation == "")
	case isOrg && (r.Relation == schema.RelAdmin || r.Relation == schema.RelMember),
		r.Resource.Type == schema.TypeTeam && r.Relation == schema.RelMember,
		r.Resource.Type == schema.TypeRepo && slices.Contains(schema.Roles, r.Relation):
		switch r.Subject.Type {
		case schema.TypeTeam, schema.TypeServiceAccount, schema.TypeOrg:
			return own, identity.OrgOf(r.Subject.Object) != own
		}
	}
	return own, false
}
