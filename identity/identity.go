// Package identity validates and normalizes the typed subject and resource names of ID6:
// user:<email>, robot:<name>, sa:<name>@<org>, pipeline:<org>/<name>, team:<org>/<team>,
// and the resources org:<org>, repo:<org>/<repo>, bucket:<org>/<nickname>, platform:root.
// Emails are lower-cased so that they compare case-insensitively (ID1).
package identity

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)

// ValidName reports whether s is a valid org, repo, team, pipeline, bucket or robot name:
// lowercase letters, digits, '-' and '_', 1 to 63 characters, starting and ending with a
// letter or digit.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// NormalizeEmail lower-cases and checks an email address. Only ASCII letters are folded:
// Unicode case folding maps some other characters onto ASCII ones (the Kelvin sign onto
// "k"), so folding them would let an address at a different mailbox, once verified by an
// identity provider, become an existing user (ID1).
func NormalizeEmail(s string) (string, error) {
	e := asciiLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || !strings.Contains(e, "@") || strings.ContainsAny(e, "#* \t") {
		return "", fmt.Errorf("%q is not a valid email address", s)
	}
	return e, nil
}

// asciiLower lower-cases the ASCII letters of s and leaves every other character as it is.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// qualified splits "<org>/<name>" and checks both parts.
func qualified(id string) error {
	org, name, ok := strings.Cut(id, "/")
	if !ok || !ValidName(org) || !ValidName(name) {
		return fmt.Errorf("%q must be <org>/<name> with lowercase letters, digits, '-' or '_'", id)
	}
	return nil
}

// checkID validates the id of an object of the given API type and returns it normalized.
func checkID(typ, id string) (string, error) {
	switch typ {
	case schema.TypeUser:
		return NormalizeEmail(id)
	case schema.TypeRobot, schema.TypeOrg:
		if !ValidName(id) {
			return "", fmt.Errorf("%q is not a valid %s name (lowercase letters, digits, '-', '_', at most 63)", id, typ)
		}
	case schema.TypeServiceAccount:
		name, org, ok := strings.Cut(id, "@")
		if !ok || !ValidName(name) || !ValidName(org) {
			return "", fmt.Errorf("%q must be <name>@<org>", id)
		}
	case schema.TypeRepo, schema.TypeTeam, schema.TypePipeline, schema.TypeBucket:
		if err := qualified(id); err != nil {
			return "", err
		}
	case schema.TypePlatform:
		if id != schema.PlatformID {
			return "", fmt.Errorf("the platform object is platform:root")
		}
	default:
		return "", fmt.Errorf("unknown type %q", typ)
	}
	return id, nil
}

// SubjectTypes are the types that can be a subject.
var SubjectTypes = []string{
	schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount, schema.TypePipeline, schema.TypeTeam, schema.TypeOrg,
}

// ParseSubject parses and normalizes a typed subject such as "user:Alice@Example.com" or
// "team:acme/analysts#member". Errors name field and say why.
func ParseSubject(field, s string) (relations.Subject, error) {
	sub, err := relations.ParseSubject(s)
	if err != nil {
		return relations.Subject{}, apperr.InvalidField(field, "%q is not a typed subject like user:alice@example.com, robot:ci, sa:etl@acme, pipeline:acme/clean or team:acme/analysts", s)
	}
	id, err := checkID(sub.Type, sub.ID)
	if err != nil {
		return relations.Subject{}, apperr.InvalidField(field, "%s", err)
	}
	sub.ID = id
	return sub, nil
}

// ParseObject parses and normalizes a typed resource such as "repo:acme/raw".
func ParseObject(field, s string) (relations.Object, error) {
	obj, err := relations.ParseObject(s)
	if err != nil {
		return relations.Object{}, apperr.InvalidField(field, "%q is not a typed resource like repo:acme/raw, org:acme or platform:root", s)
	}
	id, err := checkID(obj.Type, obj.ID)
	if err != nil {
		return relations.Object{}, apperr.InvalidField(field, "%s", err)
	}
	obj.ID = id
	return obj, nil
}

// OrgOf returns the org an object belongs to, "" for platform-level objects.
func OrgOf(o relations.Object) string {
	switch o.Type {
	case schema.TypeOrg:
		return o.ID
	case schema.TypeRepo, schema.TypeTeam, schema.TypePipeline, schema.TypeBucket:
		org, _, _ := strings.Cut(o.ID, "/")
		return org
	case schema.TypeServiceAccount:
		_, org, _ := strings.Cut(o.ID, "@")
		return org
	}
	return ""
}
