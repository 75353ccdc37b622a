package client

import "context"

func (c *Client) put(ctx context.Context, p string, body, out any) error {
	return c.do(ctx, call{method: "PUT", path: p, body: body, idempotent: true, out: out})
}

func (c *Client) del(ctx context.Context, p string) (DeletedResponse, error) {
	var out DeletedResponse
	return out, c.do(ctx, call{method: "DELETE", path: p, idempotent: true, out: &out})
}

// CreateOrg is POST /api/v1/orgs (O1). Never retried.
func (c *Client) CreateOrg(ctx context.Context, req OrgRequest) (Org, error) {
	var out Org
	return out, c.do(ctx, call{method: "POST", path: v1 + "/orgs", body: req, out: &out})
}

// Orgs is GET /api/v1/orgs (O1): the orgs the caller can see.
func (c *Client) Orgs(ctx context.Context) (OrgsResponse, error) {
	var out OrgsResponse
	return out, c.get(ctx, v1+"/orgs", nil, &out)
}

// Org is GET /api/v1/orgs/{org} (O1).
func (c *Client) Org(ctx context.Context, org string) (Org, error) {
	var out Org
	return out, c.get(ctx, path(v1+"/orgs", org), nil, &out)
}

// UpdateOrg is PATCH /api/v1/orgs/{org} (O2). Not retried (PATCH).
func (c *Client) UpdateOrg(ctx context.Context, org string, req OrgPatch) (Org, error) {
	var out Org
	return out, c.do(ctx, call{method: "PATCH", path: path(v1+"/orgs", org), body: req, out: &out})
}

// DeleteOrg is DELETE /api/v1/orgs/{org} (O1).
func (c *Client) DeleteOrg(ctx context.Context, org string) (DeletedResponse, error) {
	return c.del(ctx, path(v1+"/orgs", org))
}

// Members is GET /api/v1/orgs/{org}/members (O3).
func (c *Client) Members(ctx context.Context, org string) (MembersResponse, error) {
	var out MembersResponse
	return out, c.get(ctx, path(v1+"/orgs", org, "members"), nil, &out)
}

// SetMember is PUT /api/v1/orgs/{org}/members/{email} (O3, ID1): add a person by email or
// change their role.
func (c *Client) SetMember(ctx context.Context, org, email string, req RoleBody) (Member, error) {
	var out Member
	return out, c.put(ctx, path(v1+"/orgs", org, "members", email), req, &out)
}

// RemoveMember is DELETE /api/v1/orgs/{org}/members/{email} (O3).
func (c *Client) RemoveMember(ctx context.Context, org, email string) (DeletedResponse, error) {
	return c.del(ctx, path(v1+"/orgs", org, "members", email))
}

// Teams is GET /api/v1/orgs/{org}/teams (O4).
func (c *Client) Teams(ctx context.Context, org string) (TeamsResponse, error) {
	var out TeamsResponse
	return out, c.get(ctx, path(v1+"/orgs", org, "teams"), nil, &out)
}

// CreateTeam is PUT /api/v1/orgs/{org}/teams/{team} (O4).
func (c *Client) CreateTeam(ctx context.Context, org, team string) (TeamResponse, error) {
	var out TeamResponse
	return out, c.put(ctx, path(v1+"/orgs", org, "teams", team), nil, &out)
}

// DeleteTeam is DELETE /api/v1/orgs/{org}/teams/{team} (O4).
func (c *Client) DeleteTeam(ctx context.Context, org, team string) (DeletedResponse, error) {
	return c.del(ctx, path(v1+"/orgs", org, "teams", team))
}

// AddTeamMember is PUT /api/v1/orgs/{org}/teams/{team}/members/{subject} (O4): subject is
// a user, robot, service account or team.
func (c *Client) AddTeamMember(ctx context.Context, org, team, subject string) (SubjectResponse, error) {
	var out SubjectResponse
	return out, c.put(ctx, path(v1+"/orgs", org, "teams", team, "members", subject), nil, &out)
}

// RemoveTeamMember is DELETE /api/v1/orgs/{org}/teams/{team}/members/{subject} (O4).
func (c *Client) RemoveTeamMember(ctx context.Context, org, team, subject string) (DeletedResponse, error) {
	return c.del(ctx, path(v1+"/orgs", org, "teams", team, "members", subject))
}

// CreateAPIKey is POST /api/v1/orgs/{org}/api-keys (ID2): the key and its token, shown
// once. Never retried.
func (c *Client) CreateAPIKey(ctx context.Context, org string, req APIKeyRequest) (NewAPIKey, error) {
	var out NewAPIKey
	return out, c.do(ctx, call{method: "POST", path: path(v1+"/orgs", org, "api-keys"), body: req, out: &out})
}

// APIKeys is GET /api/v1/orgs/{org}/api-keys (ID2): metadata only.
func (c *Client) APIKeys(ctx context.Context, org string) (APIKeysResponse, error) {
	var out APIKeysResponse
	return out, c.get(ctx, path(v1+"/orgs", org, "api-keys"), nil, &out)
}

// DeleteAPIKey is DELETE /api/v1/orgs/{org}/api-keys/{name} (ID2).
func (c *Client) DeleteAPIKey(ctx context.Context, org, name string) (DeletedResponse, error) {
	return c.del(ctx, path(v1+"/orgs", org, "api-keys", name))
}
