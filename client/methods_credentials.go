package client

import "context"

// Credentials is POST /api/v1/repos/{org}/{repo}/credentials (B6): temporary credentials
// scoped to the repo's prefix, read-only or read-write. Asking again renews them, so a
// failed call is retried like an idempotent one.
func (c *Client) Credentials(ctx context.Context, org, repo string, req CredentialsRequest) (CredentialsResponse, error) {
	var out CredentialsResponse
	return out, c.do(ctx, call{method: "POST", path: path(v1+"/repos", org, repo, "credentials"), body: req, idempotent: true, out: &out})
}
