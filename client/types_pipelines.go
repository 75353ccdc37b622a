package client

import "time"

// Repo roles (R1-R3) and pipelines (PL1-PL4).

// RoleGrant is one direct role of a subject on a repo. Subject is typed (ID6):
// user:<email>, robot:<name>, sa:<name>@<org>, team:<org>/<team> (its members) or
// org:<org>#member (the org's members).
type RoleGrant struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
}

// RolesResponse is GET /api/v1/repos/{org}/{repo}/roles: the repo's direct grants (R2).
type RolesResponse struct {
	Roles []RoleGrant `json:"roles"`
}

// RepoRole is a role on a repo: "reader", "writer", "owner" or "none". GET
// .../roles/{subject} answers the subject's effective (highest) role; PUT sets its
// direct role, replacing the previous one ("none" removes it).
type RepoRole struct {
	Role string `json:"role"`
}

// RoleSetResponse is PUT /api/v1/repos/{org}/{repo}/roles/{subject}'s answer: the
// direct role now set, and the write's consistency token (for at_least_as_fresh).
type RoleSetResponse struct {
	Repo      string `json:"repo"`
	Subject   string `json:"subject"`
	Role      string `json:"role"`
	WrittenAt string `json:"written_at"`
}

// PipelineRequest is POST /api/v1/orgs/{org}/pipelines's body: a name, the input repos
// and the output repo, "org/repo" each (PL1).
type PipelineRequest struct {
	Name   string   `json:"name"`
	Inputs []string `json:"inputs"`
	Output string   `json:"output"`
}

// PipelineUpdate is PUT /api/v1/pipelines/{org}/{name}'s body: the new inputs and output.
type PipelineUpdate struct {
	Inputs []string `json:"inputs"`
	Output string   `json:"output"`
}

// Pipeline is a pipeline as the API shows it. Subject is pipeline:<org>/<name>; it acts
// for Creator (PL3).
type Pipeline struct {
	Org       string    `json:"org"`
	Name      string    `json:"name"`
	Subject   string    `json:"subject"`
	Creator   string    `json:"creator"`
	Inputs    []string  `json:"inputs"`
	Output    string    `json:"output"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedBy string    `json:"created_by"`
}

// PipelineTokenRequest is POST /api/v1/pipelines/{org}/{name}/token's body: the token's
// lifetime (the server's default when empty).
type PipelineTokenRequest struct {
	TTL Duration `json:"ttl,omitempty"`
}

// MissingPermission is one entry of a PL1 refusal's details.missing.
type MissingPermission struct {
	Repo       string `json:"repo"`
	Permission string `json:"permission"`
}
