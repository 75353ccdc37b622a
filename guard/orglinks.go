package guard

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// Org links (O1): an object named inside an org (repo:<org>/<name>, pipeline:<org>/<name>,
// bucket:<org>/<nickname>, team:<org>/<team>, serviceaccount:<name>@<org>) belongs to
// that org, and only to it. Its #org relationship is what gives the org's members and
// admins their access to it, so a raw write of repo:acme/x#org@org:beta would adopt
// acme's repo into beta (beta's members read and write it, beta's admins own it), and
// bucket:acme/main#org@org:beta would hand acme's config to beta's admins. Every write
// of an #org relationship must name the org the object's own name says.

// refuseForeignOrgLinks refuses a write adding an X#org@org:Y where Y is not X's own org.
func refuseForeignOrgLinks(_ context.Context, updates []relations.Update, field string) error {
	for i, u := range updates {
		r := u.Relationship
		if u.Operation == relations.OpDelete || r.Relation != schema.RelOrg {
			continue
		}
		own := identity.OrgOf(r.Resource)
		if own == "" || r.Resource.Type == schema.TypeOrg {
			continue
		}
		if r.Subject.Type == schema.TypeOrg && r.Subject.ID == own && r.Subject.Relation == "" {
			continue
		}
		return apperr.InvalidField(fieldOf(field, i),
			"%s would give %s to %s: an object named in org %s belongs to that org only (O1)", r, r.Resource, r.Subject, own)
	}
	return nil
}
