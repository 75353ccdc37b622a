package client

// CheckRequest asks whether Subject (the caller when empty) holds Permission on
// Resource (C1). AtLeastAsFresh is a written_at or checked_at token.
type CheckRequest struct {
	Resource       string `json:"resource"`
	Permission     string `json:"permission"`
	Subject        string `json:"subject,omitempty"`
	AtLeastAsFresh string `json:"at_least_as_fresh,omitempty"`
}

// CheckResponse is a check's answer; CheckedAt is a consistency token.
type CheckResponse struct {
	Allowed   bool   `json:"allowed"`
	CheckedAt string `json:"checked_at"`
}

// BulkRequest holds 1 to 1000 checks (C2).
type BulkRequest struct {
	Items []CheckRequest `json:"items"`
}

// BulkResult is one item's answer: allowed, or an error about that item alone.
type BulkResult struct {
	Allowed bool         `json:"allowed"`
	Error   *ErrorDetail `json:"error,omitempty"`
}

// BulkResponse holds one result per item, in order.
type BulkResponse struct {
	Results []BulkResult `json:"results"`
}

// LookupResourcesRequest asks which resources of ResourceType Subject (the caller when
// empty) holds Permission on.
type LookupResourcesRequest struct {
	Subject        string `json:"subject,omitempty"`
	Permission     string `json:"permission"`
	ResourceType   string `json:"resource_type"`
	AtLeastAsFresh string `json:"at_least_as_fresh,omitempty"`
}

// LookupResourcesResponse lists resources, sorted.
type LookupResourcesResponse struct {
	Resources []string `json:"resources"`
}

// LookupSubjectsRequest asks which subjects of SubjectType (default "user") hold
// Permission on Resource.
type LookupSubjectsRequest struct {
	Resource       string `json:"resource"`
	Permission     string `json:"permission"`
	SubjectType    string `json:"subject_type"`
	AtLeastAsFresh string `json:"at_least_as_fresh,omitempty"`
}

// LookupSubjectsResponse lists subjects, sorted.
type LookupSubjectsResponse struct {
	Subjects []string `json:"subjects"`
}

// ExplainResponse is a check's answer with the relationship paths that grant it.
type ExplainResponse struct {
	Allowed   bool       `json:"allowed"`
	CheckedAt string     `json:"checked_at"`
	Paths     [][]string `json:"paths"`
}

// RelationshipsResponse lists relationships as strings like
// repo:acme/x#reader@user:bob@example.com.
type RelationshipsResponse struct {
	Relationships []string `json:"relationships"`
}

// Filter selects relationships: Resource is "type" or "type:id", Subject "type",
// "type:id" or "type:id#relation". Query parameters of GET /api/v1/relationships, and
// the filter of a precondition.
type Filter struct {
	Resource string `json:"resource"`
	Relation string `json:"relation,omitempty"`
	Subject  string `json:"subject,omitempty"`
}

// Operations of an Update.
const (
	OpCreate = "create" // fails when the relationship exists
	OpTouch  = "touch"  // creates or keeps
	OpDelete = "delete" // removes if present
)

// Update is one change of a WriteRequest.
type Update struct {
	Operation    string `json:"operation"`
	Relationship string `json:"relationship"`
}

// Precondition operations.
const (
	MustMatch    = "must_match"
	MustNotMatch = "must_not_match"
)

// Precondition must hold for a write to apply: Operation is MustMatch or MustNotMatch.
type Precondition struct {
	Operation string `json:"operation"`
	Filter    Filter `json:"filter"`
}

// WriteRequest writes 1 to 1000 updates atomically, if every precondition holds (A1).
type WriteRequest struct {
	Updates       []Update       `json:"updates"`
	Preconditions []Precondition `json:"preconditions,omitempty"`
}

// WriteResponse carries the write's consistency token.
type WriteResponse struct {
	WrittenAt string `json:"written_at"`
}

// ImportResponse counts the imported relationships.
type ImportResponse struct {
	Imported int `json:"imported"`
}

// ExportLine is one line of the NDJSON export and import.
type ExportLine struct {
	Relationship string `json:"relationship"`
}

// SchemaResponse is the policy schema in force (A2).
type SchemaResponse struct {
	Schema string `json:"schema"`
}

// ValidateRequest holds exactly one of a schema text or a validation file (YAML).
type ValidateRequest struct {
	Schema         string `json:"schema,omitempty"`
	ValidationFile string `json:"validation_file,omitempty"`
}

// Diagnostic is one validation error or warning.
type Diagnostic struct {
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// ValidateResponse is a validation's outcome.
type ValidateResponse struct {
	Valid    bool         `json:"valid"`
	Errors   []Diagnostic `json:"errors"`
	Warnings []Diagnostic `json:"warnings"`
}
