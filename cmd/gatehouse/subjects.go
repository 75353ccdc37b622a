package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// subjectSyntax is the one subject syntax every command accepts.
const subjectSyntax = "user:<email> (or a bare email), robot:<name>, sa:<name>@<org> or team:<org>/<team>"

// parseSubject reads a subject in the one syntax of every command (ID6): user:<email>,
// robot:<name>, sa:<name>@<org>, team:<org>/<team>, pipeline:<org>/<name>, each
// optionally with #relation; a bare email is user:<email>. Other type:id objects (the
// subjects of relationships such as repo:acme/x#org@org:acme) pass as they are. It checks
// the shape only; the server checks the rest and names the field.
func parseSubject(s string) (string, error) {
	s = strings.TrimSpace(s)
	typ, id, ok := strings.Cut(s, ":")
	if !ok {
		if strings.Contains(s, "@") && !strings.ContainsAny(s, "#/ ") {
			return schema.TypeUser + ":" + s, nil // a bare email is a person
		}
		return "", fmt.Errorf("%q is not a subject: give %s", s, subjectSyntax)
	}
	id, _, _ = strings.Cut(id, "#")
	var bad bool
	switch typ {
	case schema.TypeUser:
		bad = id != "*" && !strings.Contains(id, "@")
	case schema.TypeRobot:
		bad = id == "" || strings.ContainsAny(id, "@/")
	case schema.TypeServiceAccount:
		name, org, _ := strings.Cut(id, "@")
		bad = name == "" || org == ""
	case schema.TypeTeam, schema.TypePipeline:
		org, name, _ := strings.Cut(id, "/")
		bad = org == "" || name == ""
	default:
		bad = typ == "" || id == "" || strings.ContainsAny(typ, "@/# ")
	}
	if bad {
		return "", fmt.Errorf("%q is not a subject: give %s", s, subjectSyntax)
	}
	return s, nil
}

// parseEmail reads a person for the members commands: a bare email or user:<email>.
func parseEmail(s string) (string, error) {
	sub, err := parseSubject(s)
	if err != nil {
		return "", err
	}
	email, ok := strings.CutPrefix(sub, schema.TypeUser+":")
	if !ok || email == "*" || strings.Contains(email, "#") {
		return "", fmt.Errorf("%q is not a person: give an email or user:<email>", s)
	}
	return email, nil
}

// parseFilterSubject reads the subject of a relationship filter: a subject, or a bare
// subject type ("user", "team") matching every subject of that type.
func parseFilterSubject(s string) (string, error) {
	if s != "" && !strings.ContainsAny(s, ":@") {
		return s, nil
	}
	return parseSubject(s)
}

// relationship is resource#relation@subject.
type relationship struct{ resource, relation, subject string }

func (r relationship) String() string { return r.resource + "#" + r.relation + "@" + r.subject }

// parseRelationshipArgs reads RESOURCE RELATION SUBJECT, or one relationship string like
// repo:acme/x#reader@user:bob@example.com (the subject may be a bare email).
func parseRelationshipArgs(args []string) (relationship, error) {
	var r relationship
	switch len(args) {
	case 1:
		var rest string
		var ok bool
		r.resource, rest, ok = strings.Cut(args[0], "#")
		if ok {
			r.relation, r.subject, ok = strings.Cut(rest, "@")
		}
		if !ok {
			return r, fmt.Errorf("%q is not a relationship like repo:acme/x#reader@user:bob@example.com", args[0])
		}
	case 3:
		r = relationship{args[0], args[1], args[2]}
	default:
		return r, errors.New("give RESOURCE RELATION SUBJECT, or one relationship like repo:acme/x#reader@user:bob@example.com")
	}
	if err := checkResource(r.resource); err != nil {
		return r, err
	}
	if r.relation == "" || strings.ContainsAny(r.relation, "#@: ") {
		return r, fmt.Errorf("%q is not a relation name such as reader", r.relation)
	}
	sub, err := parseSubject(r.subject)
	if err != nil {
		return r, err
	}
	r.subject = sub
	return r, nil
}

// checkResource requires type:id, e.g. repo:acme/x.
func checkResource(s string) error {
	typ, id, ok := strings.Cut(s, ":")
	if !ok || typ == "" || id == "" {
		return fmt.Errorf("%q is not a resource like repo:acme/x or org:acme", s)
	}
	return nil
}
