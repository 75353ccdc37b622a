package relations

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// Wildcard is the subject ID that stands for every object of a type ("user:*"). It is
// valid only as a subject (a wildcard grant) and in LookupSubjects results.
const Wildcard = "*"

// maxStoredIDLen is SpiceDB's limit on object IDs.
const maxStoredIDLen = 1024

// apiToStoredType maps API type names (schema.Types) to SpiceDB definition names. Types
// not listed are unknown to Gatehouse.
var apiToStoredType = func() map[string]string {
	m := make(map[string]string, len(schema.Types))
	for _, typ := range schema.Types {
		m[typ] = schema.StoredType(typ)
	}
	return m
}()

var storedToAPIType = func() map[string]string {
	m := make(map[string]string, len(apiToStoredType))
	for api, stored := range apiToStoredType {
		m[stored] = api
	}
	return m
}()

var (
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	// storedIDRE is SpiceDB's object ID pattern; every encoded ID matches it.
	storedIDRE = regexp.MustCompile(`^(([a-zA-Z0-9/_|\-=+]{1,})|\*)$`)
)

// StoredType returns the SpiceDB definition name of an API type name ("sa" ->
// "serviceaccount"). Unknown types are ErrInvalid.
func StoredType(apiType string) (string, error) {
	t, ok := apiToStoredType[apiType]
	if !ok {
		return "", fmt.Errorf("%w: unknown type %q", ErrInvalid, apiType)
	}
	return t, nil
}

// APIType returns the API type name of a SpiceDB definition name ("serviceaccount" ->
// "sa"). Unknown definitions are ErrInvalid.
func APIType(storedType string) (string, error) {
	t, ok := storedToAPIType[storedType]
	if !ok {
		return "", fmt.Errorf("%w: unknown stored type %q", ErrInvalid, storedType)
	}
	return t, nil
}

// keepByte reports whether b is stored as itself; every other byte is escaped as _XX.
func keepByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '/' || b == '-'
}

// validateID checks an API object ID: non-empty, valid UTF-8, without whitespace or
// control characters.
func validateID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty id", ErrInvalid)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: id %q is not valid UTF-8", ErrInvalid, id)
	}
	for _, r := range id {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%w: id %q contains whitespace or a control character", ErrInvalid, id)
		}
	}
	return nil
}

// EncodeID maps an API object ID to a SpiceDB object ID: [a-zA-Z0-9/-] are kept and every
// other byte, "_" included, becomes "_XX" (lowercase hex), so "alice@example.com" is
// stored as "alice_40example_2ecom". The mapping is reversible (DecodeID). Empty IDs,
// IDs with whitespace or control characters, the wildcard "*" and IDs whose encoding
// exceeds 1024 bytes are ErrInvalid.
func EncodeID(apiID string) (string, error) {
	if apiID == Wildcard {
		return "", fmt.Errorf("%w: the wildcard %q is not an object id", ErrInvalid, apiID)
	}
	if err := validateID(apiID); err != nil {
		return "", err
	}
	const hex = "0123456789abcdef"
	var sb strings.Builder
	sb.Grow(len(apiID))
	for i := 0; i < len(apiID); i++ {
		b := apiID[i]
		if keepByte(b) {
			sb.WriteByte(b)
			continue
		}
		sb.WriteByte('_')
		sb.WriteByte(hex[b>>4])
		sb.WriteByte(hex[b&0x0f])
		if sb.Len() > maxStoredIDLen {
			break
		}
	}
	if sb.Len() > maxStoredIDLen {
		return "", fmt.Errorf("%w: id %q is too long (its stored form exceeds %d bytes)", ErrInvalid, truncate(apiID, 64), maxStoredIDLen)
	}
	return sb.String(), nil
}

// DecodeID reverses EncodeID. The stored wildcard "*" decodes to "*". Anything EncodeID
// cannot have produced is ErrInvalid.
func DecodeID(stored string) (string, error) {
	if stored == Wildcard {
		return Wildcard, nil
	}
	if stored == "" {
		return "", fmt.Errorf("%w: empty stored id", ErrInvalid)
	}
	var sb strings.Builder
	sb.Grow(len(stored))
	for i := 0; i < len(stored); i++ {
		b := stored[i]
		if keepByte(b) {
			sb.WriteByte(b)
			continue
		}
		if b != '_' || i+2 >= len(stored) {
			return "", fmt.Errorf("%w: stored id %q is not in escaped form", ErrInvalid, truncate(stored, 64))
		}
		hi, ok1 := unhex(stored[i+1])
		lo, ok2 := unhex(stored[i+2])
		v := hi<<4 | lo
		if !ok1 || !ok2 || keepByte(v) {
			return "", fmt.Errorf("%w: stored id %q is not in escaped form", ErrInvalid, truncate(stored, 64))
		}
		sb.WriteByte(v)
		i += 2
	}
	id := sb.String()
	if err := validateID(id); err != nil {
		return "", fmt.Errorf("%w: stored id %q decodes to an invalid id", ErrInvalid, truncate(stored, 64))
	}
	return id, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// validateName checks a type, relation or permission name.
func validateName(name string) bool { return nameRE.MatchString(name) }

// parseObject parses "type:id"; allowWildcard admits the id "*" (subjects only).
func parseObject(s string, allowWildcard bool) (Object, error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok {
		return Object{}, fmt.Errorf("%w: %q is not type:id", ErrInvalid, s)
	}
	o := Object{Type: typ, ID: id}
	if err := o.validate(allowWildcard); err != nil {
		return Object{}, err
	}
	return o, nil
}

// validate checks the type is a known one and the id is valid and storable.
func (o Object) validate(allowWildcard bool) error {
	if !validateName(o.Type) {
		return fmt.Errorf("%w: bad type name %q", ErrInvalid, o.Type)
	}
	if _, err := StoredType(o.Type); err != nil {
		return err
	}
	if allowWildcard && o.ID == Wildcard {
		return nil
	}
	if _, err := EncodeID(o.ID); err != nil {
		return err
	}
	return nil
}

func (s Subject) validate() error {
	if err := s.Object.validate(true); err != nil {
		return err
	}
	if s.Relation != "" {
		if s.ID == Wildcard {
			return fmt.Errorf("%w: a wildcard subject cannot have a relation", ErrInvalid)
		}
		if !validateName(s.Relation) {
			return fmt.Errorf("%w: bad relation name %q", ErrInvalid, s.Relation)
		}
	}
	return nil
}

// Validate checks a relationship: known types, valid names and ids.
func (r Relationship) Validate() error {
	if err := r.Resource.validate(false); err != nil {
		return fmt.Errorf("resource %q: %w", r.Resource.String(), err)
	}
	if !validateName(r.Relation) {
		return fmt.Errorf("%w: relation %q: bad relation name", ErrInvalid, r.Relation)
	}
	if err := r.Subject.validate(); err != nil {
		return fmt.Errorf("subject %q: %w", r.Subject.String(), err)
	}
	return nil
}

// ParseObject parses "type:id", e.g. "repo:acme/raw". Errors wrap ErrInvalid.
func ParseObject(s string) (Object, error) {
	o, err := parseObject(s, false)
	if err != nil {
		return Object{}, fmt.Errorf("object %q: %w", s, err)
	}
	return o, nil
}

// ParseSubject parses "type:id" or "type:id#relation", e.g. "team:acme/analysts#member";
// the relation is what follows the last "#". The id may be "*" (a wildcard) without a
// relation. Errors wrap ErrInvalid.
func ParseSubject(s string) (Subject, error) {
	sub, err := parseSubject(s)
	if err != nil {
		return Subject{}, fmt.Errorf("subject %q: %w", s, err)
	}
	return sub, nil
}

func parseSubject(s string) (Subject, error) {
	objPart, rel := s, ""
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		objPart, rel = s[:i], s[i+1:]
		if rel == "" {
			return Subject{}, fmt.Errorf("%w: empty relation after '#'", ErrInvalid)
		}
	}
	o, err := parseObject(objPart, true)
	if err != nil {
		return Subject{}, err
	}
	sub := Subject{Object: o, Relation: rel}
	if err := sub.validate(); err != nil {
		return Subject{}, err
	}
	return sub, nil
}

// ParseRelationship parses "resource#relation@subject", e.g.
// "repo:acme/x#reader@user:bob@example.com". The resource ends at the first "#", the
// relation at the first "@" after it, and the rest is the subject. Errors wrap ErrInvalid
// and name the part that is wrong.
func ParseRelationship(s string) (Relationship, error) {
	resPart, rest, ok := strings.Cut(s, "#")
	if !ok {
		return Relationship{}, fmt.Errorf("%w: relationship %q: missing '#relation'", ErrInvalid, s)
	}
	relPart, subPart, ok := strings.Cut(rest, "@")
	if !ok {
		return Relationship{}, fmt.Errorf("%w: relationship %q: missing '@subject'", ErrInvalid, s)
	}
	res, err := parseObject(resPart, false)
	if err != nil {
		return Relationship{}, fmt.Errorf("resource %q: %w", resPart, err)
	}
	if !validateName(relPart) {
		return Relationship{}, fmt.Errorf("%w: relation %q: bad relation name", ErrInvalid, relPart)
	}
	sub, err := parseSubject(subPart)
	if err != nil {
		return Relationship{}, fmt.Errorf("subject %q: %w", subPart, err)
	}
	return Relationship{Resource: res, Relation: relPart, Subject: sub}, nil
}

// String returns "type:id".
func (o Object) String() string { return o.Type + ":" + o.ID }

// String returns "type:id" or "type:id#relation".
func (s Subject) String() string {
	if s.Relation == "" {
		return s.Object.String()
	}
	return s.Object.String() + "#" + s.Relation
}

// String returns "resource#relation@subject".
func (r Relationship) String() string {
	return r.Resource.String() + "#" + r.Relation + "@" + r.Subject.String()
}
