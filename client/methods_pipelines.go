package client

import (
	"context"
	"strings"
)

// repoPath is /api/v1/repos/{org}/{repo} for repo "org/repo".
func repoPath(repo string, rest ...string) string {
	org, name, _ := strings.Cut(repo, "/")
	return path(v1+"/repos", append([]string{org, name}, rest...)...)
}

// Roles is GET /api/v1/repos/{org}/{repo}/roles (R2): the direct grants on repo ("org/repo").
func (c *Client) Roles(ctx context.Context, repo string) (RolesResponse, error) {
	var out RolesResponse
	return out, c.get(ctx, repoPath(repo, "roles"), nil, &out)
}

// Role is GET /api/v1/repos/{org}/{repo}/roles/{subject} (R2): subject's effective,
// highest role on repo.
func (c *Client) Role(ctx context.Context, repo, subject string) (RepoRole, error) {
	var out RepoRole
	return out, c.get(ctx, repoPath(repo, "roles", subject), nil, &out)
}

// SetRole is PUT /api/v1/repos/{org}/{repo}/roles/{subject} (R1-R3): subject's direct
// role becomes role, replacing the previous one; "none" removes it. Idempotent.
func (c *Client) SetRole(ctx context.Context, repo, subject, role string) (RoleSetResponse, error) {
	var out RoleSetResponse
	return out, c.put(ctx, repoPath(repo, "roles", subject), RepoRole{Role: role}, &out)
}

// CreatePipeline is POST /api/v1/orgs/{org}/pipelines (PL1, PL2). Never retried.
func (c *Client) CreatePipeline(ctx context.Context, org string, req PipelineRequest) (Pipeline, error) {
	var out Pipeline
	return out, c.do(ctx, call{method: "POST", path: path(v1+"/orgs", org, "pipelines"), body: req, out: &out})
}

// UpdatePipeline is PUT /api/v1/pipelines/{org}/{name} (PL1): new inputs and output.
func (c *Client) UpdatePipeline(ctx context.Context, org, name string, req PipelineUpdate) (Pipeline, error) {
	var out Pipeline
	return out, c.put(ctx, path(v1+"/pipelines", org, name), req, &out)
}

// DeletePipeline is DELETE /api/v1/pipelines/{org}/{name}: its wiring, row and tokens.
func (c *Client) DeletePipeline(ctx context.Context, org, name string) (DeletedResponse, error) {
	return c.del(ctx, path(v1+"/pipelines", org, name))
}

// PipelineToken is POST /api/v1/pipelines/{org}/{name}/token (PL3): the pipeline's own
// token, shown once. Never retried.
func (c *Client) PipelineToken(ctx context.Context, org, name string, req PipelineTokenRequest) (MintResponse, error) {
	var out MintResponse
	return out, c.do(ctx, call{method: "POST", path: path(v1+"/pipelines", org, name, "token"), body: req, out: &out})
}
