package client

import "time"

// RepoRequest is POST /api/v1/orgs/{org}/repos's body (R1, R4): Bucket is a bucket config
// nickname of the org; "" uses the org's default.
type RepoRequest struct {
	Name   string `json:"name"`
	Bucket string `json:"bucket,omitempty"`
}

// Repo is a repo as the API shows it: Name is "<org>/<repo>", Bucket the bucket config's
// nickname, Prefix the repo's own prefix inside the bucket (R4).
type Repo struct {
	Name      string    `json:"name"`
	Bucket    string    `json:"bucket"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// ReposResponse lists the repos of an org the caller can read (R5).
type ReposResponse struct {
	Repos []Repo `json:"repos"`
}
