package client

import "time"

// LoginResponse is a finished login: a token and a session with its refresh token (T1, T2).
type LoginResponse struct {
	Subject          string    `json:"subject"`
	Token            string    `json:"token"`
	ExpiresAt        time.Time `json:"expires_at"`
	SessionID        string    `json:"session_id"`
	RefreshToken     string    `json:"refresh_token"`
	SessionExpiresAt time.Time `json:"session_expires_at"`
}

// IssuerRequest starts a terminal login with an issuer ("" is the server's default).
type IssuerRequest struct {
	Issuer string `json:"issuer"`
}

// DeviceResponse is a started terminal login: Mode "device" (visit VerificationURI and
// enter UserCode) or "copy_code" (open AuthURL and paste the code back).
type DeviceResponse struct {
	Mode                    string    `json:"mode"`
	Handle                  string    `json:"handle"`
	UserCode                string    `json:"user_code,omitempty"`
	VerificationURI         string    `json:"verification_uri,omitempty"`
	VerificationURIComplete string    `json:"verification_uri_complete,omitempty"`
	Interval                int       `json:"interval"`
	AuthURL                 string    `json:"auth_url,omitempty"`
	ExpiresAt               time.Time `json:"expires_at"`
	ExpiresIn               int       `json:"expires_in"`
}

// DeviceTokenRequest polls a terminal login (Handle) or finishes it with a pasted Code.
type DeviceTokenRequest struct {
	Handle string `json:"handle"`
	Code   string `json:"code,omitempty"`
}

// ExchangeRequest trades a trusted issuer's ID token for a Gatehouse token (T2).
type ExchangeRequest struct {
	IDToken string `json:"id_token"`
}

// RefreshRequest refreshes a session; the refresh token is rotated.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// LogoutRequest names the session to end, by ID or refresh token.
type LogoutRequest struct {
	SessionID    string `json:"session_id,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// IssuersResponse lists the OIDC issuers people can log in through.
type IssuersResponse struct {
	Issuers []string `json:"issuers"`
}

// WhoamiToken describes the token making the request.
type WhoamiToken struct {
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
	Scoped    bool      `json:"scoped"`
	Role      string    `json:"role,omitempty"`
	ParentID  string    `json:"parent_id,omitempty"` // the token that minted this one
}

// WhoamiResponse is the caller, its orgs and its token (ID6).
type WhoamiResponse struct {
	Subject       string      `json:"subject"`
	Orgs          []string    `json:"orgs"`
	PlatformAdmin bool        `json:"platform_admin"`
	Token         WhoamiToken `json:"token"`
}

// Grant allows Functions on Resources (resource types) in Orgs; "*" matches anything (T3).
type Grant struct {
	Functions []string `json:"functions" yaml:"functions"`
	Resources []string `json:"resources" yaml:"resources"`
	Orgs      []string `json:"orgs" yaml:"orgs"`
}

// MintRequest is POST /api/v1/tokens's body: a role, or grants, or neither (an unscoped
// token), for the caller or (platform admins) another Subject (T3, T4).
type MintRequest struct {
	Subject string   `json:"subject,omitempty"`
	Role    string   `json:"role,omitempty"`
	Grants  []Grant  `json:"grants,omitempty"`
	TTL     Duration `json:"ttl,omitempty"`
}

// TokenInfo is a token's metadata, never its secret.
type TokenInfo struct {
	ID        string     `json:"id"`
	Subject   string     `json:"subject"`
	Kind      string     `json:"kind"`
	Role      string     `json:"role,omitempty"`
	Scoped    bool       `json:"scoped"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// TokensResponse lists the caller's tokens.
type TokensResponse struct {
	Tokens []TokenInfo `json:"tokens"`
}

// RevokeResponse confirms a revocation.
type RevokeResponse struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
}
