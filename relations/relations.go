// Package relations is the only code that talks to SpiceDB. It offers typed checks, bulk
// checks, lookups, explanations, relationship reads and writes with preconditions,
// streamed export and import, schema read and write, and consistency tokens, behind one
// interface (Engine) with two backings: an embedded in-process SpiceDB and a remote one.
//
// Objects and subjects use the API's typed names (ID6): "user:alice@example.com",
// "sa:etl@acme", "repo:acme/raw". SpiceDB object IDs cannot hold "@" or "."; the mapping to
// stored IDs (EncodeID/DecodeID, and the "sa" -> "serviceaccount" type name) is internal
// to this package.
//
// # Consistency
//
// A request that names no Consistency (the hot path) is answered at least as fresh as
// the newest revision the engine has seen, and repeated checks are served from a cache
// keyed by that revision. The bound on staleness is StaleBound (1 s):
//
//   - A change made through the engine is seen by its next request: a write's token
//     becomes the newest revision (revisions are compared, so concurrent writes
//     reporting out of order never move it back).
//   - Memory datastore: only this engine writes it, so that is every change.
//   - PostgreSQL or CockroachDB (embedded, shared by replicas): the engine watches the
//     datastore's relationship and schema changes (SpiceDB's Watch; PostgreSQL must run
//     with track_commit_timestamp=on) and each change advances the revision and drops
//     the cached answers. PostgreSQL is polled every 100 ms; the measured latency from
//     a delete on one replica to a denial on another is about 100 ms.
//   - Fallback, fail closed: before the watch runs, while it is broken (it restarts
//     with backoff), when the datastore has no watch, and on a remote SpiceDB (whose
//     tokens cannot be compared here), requests read at full consistency and a check
//     answer is cached at most 500 ms.
//
// Revision reports the revision seen and whether the engine is on the watched path;
// the app layer may key its own caches by Freshness.Token.
package relations

import (
	"context"
	"errors"
)

// Object is a typed resource or subject object as the API names it, e.g. {"repo", "acme/raw"}.
type Object struct {
	Type string // API type name: user, robot, sa, pipeline, team, org, repo, bucket, platform
	ID   string // API id: an email, "acme/raw", "root"...
}

// Subject is an object, optionally narrowed to a relation of it (a userset such as
// "team:acme/analysts#member"). Relation "" means the object itself.
type Subject struct {
	Object
	Relation string
}

// Relationship is resource#relation@subject.
type Relationship struct {
	Resource Object
	Relation string
	Subject  Subject
}

// Consistency selects how fresh an answer must be. The zero value is the fast path:
// cached where possible, and stale by at most StaleBound (see the package doc).
type Consistency struct {
	// AtLeastAsFresh is a token from an earlier answer (CheckResult.CheckedAt, a write's
	// token); when set, the answer reflects at least everything up to it.
	AtLeastAsFresh string
	// Full asks for the newest data (slowest). Used by writes that check before acting.
	Full bool
}

// CheckRequest asks whether Subject has Permission on Resource.
type CheckRequest struct {
	Resource    Object
	Permission  string
	Subject     Subject
	Consistency Consistency
}

// CheckResult is the answer to a check, with the consistency token of the answer.
type CheckResult struct {
	Allowed   bool
	CheckedAt string
}

// BulkResult is one answer of a bulk check; Err is set (and Allowed false) when that one
// item could not be answered, e.g. an unknown permission.
type BulkResult struct {
	Allowed bool
	Err     error
}

// Explanation says why a check is allowed: each path is a chain of relationships leading
// from the resource to the subject.
type Explanation struct {
	Allowed   bool
	CheckedAt string
	Paths     [][]Relationship
}

// Filter selects relationships. Resource type is required for reads and deletes; the
// other fields narrow it when set.
type Filter struct {
	ResourceType    string
	ResourceID      string
	Relation        string
	SubjectType     string
	SubjectID       string
	SubjectRelation string
}

// Operation is what a write does with one relationship.
type Operation string

const (
	OpTouch  Operation = "touch"  // create or keep
	OpCreate Operation = "create" // create; the whole write fails if it exists
	OpDelete Operation = "delete" // delete if it exists
)

// Update is one change of a write.
type Update struct {
	Operation    Operation
	Relationship Relationship
}

// Precondition guards a write: with MustExist, at least one relationship matching Filter
// must exist; otherwise none may. A failed precondition fails the whole write with
// ErrPrecondition and applies nothing.
type Precondition struct {
	Filter    Filter
	MustExist bool
}

// Errors returned by engines; callers test them with errors.Is. Engines wrap them with a
// message naming the offending field or value.
var (
	// ErrInvalid: a malformed object, relationship, unknown type, relation or permission,
	// or a relationship the schema does not allow.
	ErrInvalid = errors.New("invalid")
	// ErrPrecondition: a write's precondition failed, or a create met an existing relationship.
	ErrPrecondition = errors.New("precondition failed")
	// ErrUnavailable: SpiceDB could not be reached or answered with an internal failure.
	// Callers must fail closed.
	ErrUnavailable = errors.New("permission engine unavailable")
	// ErrSchemaConflict: a schema write would orphan stored relationships.
	ErrSchemaConflict = errors.New("schema change conflicts with stored relationships")
)

// Engine is Gatehouse's view of SpiceDB. Implementations are safe for concurrent use.
// Every method returns ErrUnavailable (wrapped) when SpiceDB does not answer, so callers
// deny on any error.
type Engine interface {
	// Check answers one permission check.
	Check(ctx context.Context, req CheckRequest) (CheckResult, error)
	// CheckBulk answers many checks in one round trip, in order. A per-item failure is
	// reported in that item's BulkResult; the error return is for whole-call failures.
	CheckBulk(ctx context.Context, reqs []CheckRequest) ([]BulkResult, error)
	// LookupResources lists the objects of resourceType on which subject has permission.
	LookupResources(ctx context.Context, subject Subject, permission, resourceType string, c Consistency) ([]Object, error)
	// LookupSubjects lists the subjects of subjectType that have permission on resource.
	// A wildcard grant is returned as an Object with ID "*".
	LookupSubjects(ctx context.Context, resource Object, permission, subjectType string, c Consistency) ([]Object, error)
	// Explain checks like Check and, when allowed, returns the paths of relationships
	// that grant the permission.
	Explain(ctx context.Context, req CheckRequest) (Explanation, error)

	// Read returns the relationships matching f.
	Read(ctx context.Context, f Filter, c Consistency) ([]Relationship, error)
	// Write applies all updates atomically if every precondition holds, and returns the
	// consistency token of the write.
	Write(ctx context.Context, updates []Update, preconditions []Precondition) (string, error)
	// DeleteMatching deletes every relationship matching f and returns the write's token.
	DeleteMatching(ctx context.Context, f Filter) (string, error)
	// Export streams every stored relationship to fn, in stable order; it stops at fn's
	// first error and returns it.
	Export(ctx context.Context, fn func(Relationship) error) error
	// Import writes relationships in batches (touch semantics, so re-importing is
	// idempotent) and returns how many were written.
	Import(ctx context.Context, rels []Relationship) (int, error)

	// ReadSchema returns the stored schema text ("" when none is written yet).
	ReadSchema(ctx context.Context) (string, error)
	// WriteSchema replaces the schema; it fails with ErrSchemaConflict, naming the
	// relationships that would be orphaned, when the change would remove a relation or
	// type still in use.
	WriteSchema(ctx context.Context, schema string) error

	// Ready returns nil while SpiceDB answers.
	Ready(ctx context.Context) error
	// Close releases connections and, for the embedded engine, stops it.
	Close() error
}
