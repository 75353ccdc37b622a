package store

import (
	"context"
	"time"
)

// BucketConfig is an org's bucket config (B1). SealedSecret holds the hmac secret access
// key or the aws_role external id, sealed with internal/seal bound to ID (B5); it is never
// returned by the API's reads.
type BucketConfig struct {
	ID                  string // stable random id (hex); secrets are sealed to it; never changes
	Org, Nickname       string
	Platform            string // credentials.Platform
	Bucket              string
	Prefix              string // "" or ends in "/"
	EndpointURL, Region string
	AuthType            string // credentials.AuthType
	AccessKeyID         string // hmac (not secret)
	RoleARN             string // aws_role
	SealedSecret        []byte
	Default             bool
	CreatedAt           time.Time
	CreatedBy           string
}

// SameLocation reports whether b and o agree on everything but the nickname and the
// default flag: what B3 freezes while repos use a config.
func (b BucketConfig) SameLocation(o BucketConfig) bool {
	return b.Platform == o.Platform && b.Bucket == o.Bucket && b.Prefix == o.Prefix &&
		b.EndpointURL == o.EndpointURL && b.Region == o.Region && b.AuthType == o.AuthType &&
		b.AccessKeyID == o.AccessKeyID && b.RoleARN == o.RoleARN && string(b.SealedSecret) == string(o.SealedSecret)
}

// Repo is an org's repository (O1, R4): the bucket config it uses and its own prefix in
// that bucket.
type Repo struct {
	Org, Name string
	BucketID  string // BucketConfig.ID
	// Prefix is the repo's full prefix inside the bucket, ends in "/", unique per repo
	// ever created (a recreated repo never sees old data).
	Prefix    string
	CreatedAt time.Time
	CreatedBy string
}

// BucketStore keeps bucket configs (B1-B5).
type BucketStore interface {
	// CreateBucket stores b. ErrExists when b.ID or (b.Org, b.Nickname) is taken, or when
	// b.Default and the org already has a default (one per org); ErrNotFound when the org
	// does not exist.
	CreateBucket(ctx context.Context, b BucketConfig) error
	// GetBucket returns the config of org with nickname; ErrNotFound when absent.
	GetBucket(ctx context.Context, org, nickname string) (BucketConfig, error)
	// GetBucketByID returns the config with id; ErrNotFound when absent.
	GetBucketByID(ctx context.Context, id string) (BucketConfig, error)
	// ListBuckets returns the configs of org by nickname; org "" lists every org's, by org
	// then nickname.
	ListBuckets(ctx context.Context, org string) ([]BucketConfig, error)
	// UpdateBucket replaces every field of the config b.ID but ID, Org, CreatedAt and
	// CreatedBy. ErrNotFound when absent; ErrExists when the new nickname is taken in the
	// org or b.Default and another config of the org is the default; ErrConflict when a
	// repo uses the config and anything but Nickname and Default would change (B3).
	UpdateBucket(ctx context.Context, b BucketConfig) error
	// DeleteBucket deletes the config with id, for good (B4). ErrNotFound when absent;
	// ErrConflict while any repo uses it.
	DeleteBucket(ctx context.Context, id string) error
}

// RepoStore keeps repos (R4, R5).
type RepoStore interface {
	// CreateRepo stores r. ErrExists when (r.Org, r.Name) is taken or another repo has the
	// same bucket and prefix; ErrNotFound when the org does not exist or r.BucketID names
	// no config of r.Org (a deleted config never gets a repo, B4).
	CreateRepo(ctx context.Context, r Repo) error
	// GetRepo returns a repo; ErrNotFound when absent.
	GetRepo(ctx context.Context, org, name string) (Repo, error)
	// ListRepos returns the repos of org by name; none is an empty list.
	ListRepos(ctx context.Context, org string) ([]Repo, error)
	// ListReposInBucket returns the repos using the config bucketID, by org and name.
	ListReposInBucket(ctx context.Context, bucketID string) ([]Repo, error)
	// DeleteRepo deletes a repo; ErrNotFound when absent.
	DeleteRepo(ctx context.Context, org, name string) error
}
