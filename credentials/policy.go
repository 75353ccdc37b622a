package credentials

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// Access is what a caller asks credentials for (B6).
type Access string

// The two accesses of B6.
const (
	AccessRead  Access = "read"
	AccessWrite Access = "write"
)

// ParseAccess checks an access name; the error names the field "access".
func ParseAccess(s string) (Access, error) {
	switch Access(s) {
	case AccessRead, AccessWrite:
		return Access(s), nil
	}
	return "", apperr.InvalidField("access", "unknown access %q: use read or write", clip(s))
}

// MaxSessionPolicyLen is STS's limit on the plaintext of an inline session policy.
const MaxSessionPolicyLen = 2048

// PolicyVersion is the IAM policy language version every document here uses.
const PolicyVersion = "2012-10-17"

// The actions of B6: read gets objects (and their versions) and lists the prefix; write
// adds put (which covers completing a multipart upload), delete and the multipart
// housekeeping.
var (
	readObjectActions  = []string{"s3:GetObject", "s3:GetObjectVersion"}
	writeObjectActions = []string{"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}
	listAction         = "s3:ListBucket"
)

// PolicyDocument is an IAM policy as data. It is only ever marshalled with encoding/json,
// so no name can break out of the string it was put in.
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a PolicyDocument.
type Statement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal *Principal `json:"Principal,omitempty"`
	Action    []string   `json:"Action"`
	Resource  []string   `json:"Resource,omitempty"`
	Condition Condition  `json:"Condition,omitempty"`
}

// Principal names who a trust policy lets in.
type Principal struct {
	AWS string `json:"AWS"`
}

// Condition is an IAM condition block: operator -> key -> values.
type Condition map[string]map[string][]string

// BucketARN is the ARN of the bucket of l.
func (l Location) BucketARN() string { return "arn:aws:s3:::" + l.Bucket }

// ObjectsARN is the ARN pattern of every object under l's prefix (bucket/prefix*). The
// prefix ends in "/" (or is empty), so it never reaches a sibling whose name merely
// starts the same.
func (l Location) ObjectsARN() string { return l.BucketARN() + "/" + l.Prefix + "*" }

// SessionPolicy is the inline session policy for credentials on l with access a (B6):
// read gets GetObject and GetObjectVersion on the prefix and ListBucket restricted by an
// s3:prefix condition; write adds PutObject, DeleteObject, AbortMultipartUpload and
// ListMultipartUploadParts. l must have a prefix: a whole bucket is never vended.
func SessionPolicy(l Location, a Access) (PolicyDocument, error) {
	if err := checkPolicyLocation(l); err != nil {
		return PolicyDocument{}, err
	}
	if l.Prefix == "" {
		return PolicyDocument{}, apperr.InvalidField("prefix", "credentials are scoped to a prefix; a whole bucket is never vended")
	}
	actions := append([]string(nil), readObjectActions...)
	switch a {
	case AccessRead:
	case AccessWrite:
		actions = append(actions, writeObjectActions...)
	default:
		return PolicyDocument{}, apperr.InvalidField("access", "unknown access %q: use read or write", clip(string(a)))
	}
	return PolicyDocument{
		Version: PolicyVersion,
		Statement: []Statement{
			{Sid: "Objects", Effect: "Allow", Action: actions, Resource: []string{l.ObjectsARN()}},
			listStatement(l),
		},
	}, nil
}

// listStatement allows listing the bucket, limited to l's prefix when it has one.
func listStatement(l Location) Statement {
	st := Statement{Sid: "List", Effect: "Allow", Action: []string{listAction}, Resource: []string{l.BucketARN()}}
	if l.Prefix != "" {
		st.Condition = Condition{"StringLike": {"s3:prefix": {l.Prefix + "*"}}}
	}
	return st
}

// MarshalSessionPolicy returns the compact JSON of a session policy, refusing one longer
// than STS accepts (MaxSessionPolicyLen) instead of letting STS fail later.
func MarshalSessionPolicy(doc PolicyDocument) (string, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return "", apperr.New(apperr.Internal, "internal", "cannot encode the session policy").WithCause(err)
	}
	if len(b) > MaxSessionPolicyLen {
		return "", apperr.InvalidField("prefix", "the session policy for this location is %d characters long; STS accepts at most %d", len(b), MaxSessionPolicyLen)
	}
	return string(b), nil
}

// checkPolicyLocation re-validates a location before it reaches a policy, so a Location
// built by hand (or read back from storage) cannot smuggle a metacharacter in.
func checkPolicyLocation(l Location) error {
	if _, err := ParsePlatform(string(l.Platform)); err != nil {
		return err
	}
	if err := checkBucket(l.Platform, l.Bucket); err != nil {
		return apperr.InvalidField(fieldBucket, "bucket name %q: %v", clip(l.Bucket), err)
	}
	np, err := normalizePrefix(l.Prefix)
	if err != nil || np != l.Prefix {
		return apperr.InvalidField("prefix", "prefix %q is not a normalized prefix", clip(l.Prefix))
	}
	return nil
}

// allActions is every action a vended credential can carry: what an aws_role must be
// allowed so that sessions can be narrowed to any of it.
func allActions() []string {
	return append(append([]string(nil), readObjectActions...), writeObjectActions...)
}

// PermissionPolicy is the IAM permission policy the bucket owner attaches to the role of
// an aws_role bucket config (B7): every action a session may get, on the config's prefix
// (or the whole bucket when it has none), and listing limited to that prefix.
func PermissionPolicy(l Location) (PolicyDocument, error) {
	if err := checkPolicyLocation(l); err != nil {
		return PolicyDocument{}, err
	}
	return PolicyDocument{
		Version: PolicyVersion,
		Statement: []Statement{
			{Sid: "GatehouseObjects", Effect: "Allow", Action: allActions(), Resource: []string{l.ObjectsARN()}},
			listStatement(l),
		},
	}, nil
}

// TrustPolicy is the trust policy of that role (B7): Gatehouse's own AWS principal may
// assume it only with the config's external ID.
func TrustPolicy(gatehousePrincipal, externalID string) (PolicyDocument, error) {
	if err := ValidatePrincipalARN(gatehousePrincipal); err != nil {
		return PolicyDocument{}, err
	}
	if err := ValidateExternalID(externalID); err != nil {
		return PolicyDocument{}, err
	}
	return PolicyDocument{
		Version: PolicyVersion,
		Statement: []Statement{{
			Sid:       "GatehouseAssumeRole",
			Effect:    "Allow",
			Principal: &Principal{AWS: gatehousePrincipal},
			Action:    []string{"sts:AssumeRole"},
			Condition: Condition{"StringEquals": {"sts:ExternalId": {externalID}}},
		}},
	}, nil
}

// IAMPolicies renders both documents of B7 for an aws_role bucket config.
func IAMPolicies(l Location, gatehousePrincipal, externalID string) (permission, trust PolicyDocument, err error) {
	if permission, err = PermissionPolicy(l); err != nil {
		return PolicyDocument{}, PolicyDocument{}, err
	}
	if trust, err = TrustPolicy(gatehousePrincipal, externalID); err != nil {
		return PolicyDocument{}, PolicyDocument{}, err
	}
	return permission, trust, nil
}

// String is the indented JSON of the document, for humans.
func (d PolicyDocument) String() string {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Sprintf("<unencodable policy: %v>", err)
	}
	return string(b)
}
