package client

import (
	"context"
	"net/url"
)

// Issuers is GET /api/v1/auth/issuers (T1).
func (c *Client) Issuers(ctx context.Context) (IssuersResponse, error) {
	var out IssuersResponse
	return out, c.get(ctx, v1+"/auth/issuers", nil, &out)
}

// LoginURL is the address of GET /api/v1/auth/login, where a browser starts a login
// with issuer ("" for the server's default). The route redirects, so it is for browsers,
// not for this client.
func (c *Client) LoginURL(issuer string) string {
	u := c.base + v1 + "/auth/login"
	if issuer != "" {
		u += "?" + url.Values{"issuer": {issuer}}.Encode()
	}
	return u
}

// LoginCallback is GET /api/v1/auth/callback with the issuer's query parameters (state,
// code, mode, error). It finishes a login once, so it is never retried.
func (c *Client) LoginCallback(ctx context.Context, query url.Values) (LoginResponse, error) {
	var out LoginResponse
	return out, c.do(ctx, call{method: "GET", path: v1 + "/auth/callback", query: query, out: &out})
}

// StartDeviceLogin is POST /api/v1/auth/device (T1). Never retried.
func (c *Client) StartDeviceLogin(ctx context.Context, req IssuerRequest) (DeviceResponse, error) {
	var out DeviceResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/auth/device", body: req, out: &out})
}

// DeviceToken is POST /api/v1/auth/device/token (T1): poll a terminal login, or send the
// pasted code. Pending logins are *Error with code authorization_pending or slow_down.
// Never retried.
func (c *Client) DeviceToken(ctx context.Context, req DeviceTokenRequest) (LoginResponse, error) {
	var out LoginResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/auth/device/token", body: req, out: &out})
}

// Exchange is POST /api/v1/auth/exchange (T2). Never retried: it mints a token.
func (c *Client) Exchange(ctx context.Context, req ExchangeRequest) (LoginResponse, error) {
	var out LoginResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/auth/exchange", body: req, out: &out})
}

// Refresh is POST /api/v1/auth/refresh (T1). Never retried: it rotates the refresh token.
func (c *Client) Refresh(ctx context.Context, req RefreshRequest) (LoginResponse, error) {
	var out LoginResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/auth/refresh", body: req, out: &out})
}

// Logout is POST /api/v1/auth/logout (T1): it ends the session and revokes the token
// making the request. Never retried.
func (c *Client) Logout(ctx context.Context, req LogoutRequest) (StatusResponse, error) {
	var out StatusResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/auth/logout", body: req, out: &out})
}

// Whoami is GET /api/v1/whoami (ID6).
func (c *Client) Whoami(ctx context.Context) (WhoamiResponse, error) {
	var out WhoamiResponse
	return out, c.get(ctx, v1+"/whoami", nil, &out)
}

// MintToken is POST /api/v1/tokens (T3, T4). Never retried: a retry could mint twice.
func (c *Client) MintToken(ctx context.Context, req MintRequest) (MintResponse, error) {
	var out MintResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/tokens", body: req, out: &out})
}

// Tokens is GET /api/v1/tokens (T3): the caller's tokens, without secrets.
func (c *Client) Tokens(ctx context.Context) (TokensResponse, error) {
	var out TokensResponse
	return out, c.get(ctx, v1+"/tokens", nil, &out)
}

// RevokeToken is DELETE /api/v1/tokens/{id} (T3).
func (c *Client) RevokeToken(ctx context.Context, id string) (RevokeResponse, error) {
	var out RevokeResponse
	return out, c.do(ctx, call{method: "DELETE", path: path(v1+"/tokens", id), idempotent: true, out: &out})
}
