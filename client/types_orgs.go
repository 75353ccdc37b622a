package client

import "time"

// OrgRequest is POST /api/v1/orgs's body (O1).
type OrgRequest struct {
	Name string `json:"name"`
}

// Org is an org as the API shows it.
type Org struct {
	Name       string    `json:"name"`
	RepoAccess string    `json:"repo_access"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
}

// OrgsResponse lists the orgs the caller can see.
type OrgsResponse struct {
	Orgs []Org `json:"orgs"`
}

// OrgPatch switches an org's repo access: "members" or "acl_only" (O2).
type OrgPatch struct {
	RepoAccess string `json:"repo_access"`
}

// RoleBody sets a member's role: "member" or "admin" (O3).
type RoleBody struct {
	Role string `json:"role"`
}

// Member is a subject with a role in an org.
type Member struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
}

// MembersResponse lists an org's members and admins.
type MembersResponse struct {
	Members []Member `json:"members"`
}

// TeamsResponse lists an org's team names (without the org).
type TeamsResponse struct {
	Teams []string `json:"teams"`
}

// TeamResponse names a team as a subject, team:<org>/<team>.
type TeamResponse struct {
	Team string `json:"team"`
}

// APIKeyRequest creates an API key (a service account, ID2). Role is "member" (default)
// or "admin"; Lifetime defaults to the server's.
type APIKeyRequest struct {
	Name     string   `json:"name"`
	Lifetime Duration `json:"lifetime,omitempty"`
	Role     string   `json:"role,omitempty"`
}

// APIKeyInfo is an API key's metadata; the secret appears only in NewAPIKey.
type APIKeyInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Subject   string    `json:"subject"`
	Account   string    `json:"service_account"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedBy string    `json:"created_by"`
}

// NewAPIKey is a created API key with its token, shown once.
type NewAPIKey struct {
	APIKeyInfo
	Token string `json:"token"`
}

// APIKeysResponse lists an org's API keys.
type APIKeysResponse struct {
	Keys []APIKeyInfo `json:"api_keys"`
}

// DeletedResponse names what a DELETE removed ("org:acme", "user:bob@example.com", ...).
type DeletedResponse struct {
	Deleted string `json:"deleted"`
}
