package client

import "context"

// CreateBucket is POST /api/v1/orgs/{org}/buckets (B1, B2). Never retried.
func (c *Client) CreateBucket(ctx context.Context, org string, req BucketRequest) (Bucket, error) {
	var out Bucket
	return out, c.do(ctx, call{method: "POST", path: path(v1+"/orgs", org, "buckets"), body: req, out: &out})
}

// Buckets is GET /api/v1/orgs/{org}/buckets (B1).
func (c *Client) Buckets(ctx context.Context, org string) (BucketsResponse, error) {
	var out BucketsResponse
	return out, c.get(ctx, path(v1+"/orgs", org, "buckets"), nil, &out)
}

// Bucket is GET /api/v1/orgs/{org}/buckets/{nickname} (B1, B5).
func (c *Client) Bucket(ctx context.Context, org, nickname string) (Bucket, error) {
	var out Bucket
	return out, c.get(ctx, path(v1+"/orgs", org, "buckets", nickname), nil, &out)
}

// UpdateBucket is PATCH /api/v1/orgs/{org}/buckets/{nickname} (B3). Not retried (PATCH).
func (c *Client) UpdateBucket(ctx context.Context, org, nickname string, req BucketPatch) (Bucket, error) {
	var out Bucket
	return out, c.do(ctx, call{method: "PATCH", path: path(v1+"/orgs", org, "buckets", nickname), body: req, out: &out})
}

// DeleteBucket is DELETE /api/v1/orgs/{org}/buckets/{nickname} (B4).
func (c *Client) DeleteBucket(ctx context.Context, org, nickname string) (DeletedResponse, error) {
	return c.del(ctx, path(v1+"/orgs", org, "buckets", nickname))
}

// BucketIAMPolicy is GET /api/v1/orgs/{org}/buckets/{nickname}/iam-policy (B7).
func (c *Client) BucketIAMPolicy(ctx context.Context, org, nickname string) (IAMPolicyResponse, error) {
	var out IAMPolicyResponse
	return out, c.get(ctx, path(v1+"/orgs", org, "buckets", nickname, "iam-policy"), nil, &out)
}

// CreateRepo is POST /api/v1/orgs/{org}/repos (R1, R4). Never retried.
func (c *Client) CreateRepo(ctx context.Context, org string, req RepoRequest) (Repo, error) {
	var out Repo
	return out, c.do(ctx, call{method: "POST", path: path(v1+"/orgs", org, "repos"), body: req, out: &out})
}

// Repos is GET /api/v1/orgs/{org}/repos (R5): the repos the caller can read.
func (c *Client) Repos(ctx context.Context, org string) (ReposResponse, error) {
	var out ReposResponse
	return out, c.get(ctx, path(v1+"/orgs", org, "repos"), nil, &out)
}

// Repo is GET /api/v1/repos/{org}/{repo}.
func (c *Client) Repo(ctx context.Context, org, repo string) (Repo, error) {
	var out Repo
	return out, c.get(ctx, path(v1+"/repos", org, repo), nil, &out)
}

// DeleteRepo is DELETE /api/v1/repos/{org}/{repo} (R5).
func (c *Client) DeleteRepo(ctx context.Context, org, repo string) (DeletedResponse, error) {
	return c.del(ctx, path(v1+"/repos", org, repo))
}
