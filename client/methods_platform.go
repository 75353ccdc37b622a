package client

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

const v1 = "/api/v1"

// get is an idempotent GET decoded into out.
func (c *Client) get(ctx context.Context, p string, q url.Values, out any) error {
	return c.do(ctx, call{method: "GET", path: p, query: q, idempotent: true, out: out})
}

// Version is GET /api/iam/version (C4).
func (c *Client) Version(ctx context.Context) (VersionResponse, error) {
	var out VersionResponse
	return out, c.get(ctx, "/api/iam/version", nil, &out)
}

// Ping is GET /api/iam/v1/ping (C4).
func (c *Client) Ping(ctx context.Context) (StatusResponse, error) {
	var out StatusResponse
	return out, c.get(ctx, "/api/iam/v1/ping", nil, &out)
}

// Health is GET /healthz (C4).
func (c *Client) Health(ctx context.Context) (StatusResponse, error) {
	var out StatusResponse
	return out, c.get(ctx, "/healthz", nil, &out)
}

// Ready is GET /readyz (C4): an *Error with status 503 while SpiceDB or the database do
// not answer. It is not retried: the answer is the point.
func (c *Client) Ready(ctx context.Context) (StatusResponse, error) {
	var out StatusResponse
	return out, c.do(ctx, call{method: "GET", path: "/readyz", out: &out})
}

// Metrics is GET /metrics: Prometheus text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	var out string
	return out, c.get(ctx, "/metrics", nil, &out)
}

// OpenAPI is GET /api/v1/openapi.json, decoded.
func (c *Client) OpenAPI(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	return out, c.get(ctx, v1+"/openapi.json", nil, &out)
}

// Activate is POST /api/v1/activate (P1). Never retried.
func (c *Client) Activate(ctx context.Context, req ActivateRequest) (ActivateResponse, error) {
	var out ActivateResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/activate", body: req, out: &out})
}

// Deactivate is POST /api/v1/deactivate (P3). Never retried.
func (c *Client) Deactivate(ctx context.Context, req DeactivateRequest) (StatusResponse, error) {
	var out StatusResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/deactivate", body: req, out: &out})
}

// PlatformAdmins is GET /api/v1/platform/admins (P2).
func (c *Client) PlatformAdmins(ctx context.Context) (AdminsResponse, error) {
	var out AdminsResponse
	return out, c.get(ctx, v1+"/platform/admins", nil, &out)
}

// AddPlatformAdmin is PUT /api/v1/platform/admins/{subject} (P2).
func (c *Client) AddPlatformAdmin(ctx context.Context, subject string) (SubjectResponse, error) {
	var out SubjectResponse
	return out, c.do(ctx, call{method: "PUT", path: path(v1+"/platform/admins", subject), idempotent: true, out: &out})
}

// RemovePlatformAdmin is DELETE /api/v1/platform/admins/{subject} (P2).
func (c *Client) RemovePlatformAdmin(ctx context.Context, subject string) (SubjectResponse, error) {
	var out SubjectResponse
	return out, c.do(ctx, call{method: "DELETE", path: path(v1+"/platform/admins", subject), idempotent: true, out: &out})
}

// PlatformMode is GET /api/v1/platform/mode (P4).
func (c *Client) PlatformMode(ctx context.Context) (ModeBody, error) {
	var out ModeBody
	return out, c.get(ctx, v1+"/platform/mode", nil, &out)
}

// SetPlatformMode is PUT /api/v1/platform/mode (P4).
func (c *Client) SetPlatformMode(ctx context.Context, adminOnly bool) (ModeBody, error) {
	var out ModeBody
	return out, c.do(ctx, call{method: "PUT", path: v1 + "/platform/mode", body: ModeBody{AdminOnly: &adminOnly}, idempotent: true, out: &out})
}

// CreateRobot is POST /api/v1/robots (ID3): the robot and its first token. Never retried.
func (c *Client) CreateRobot(ctx context.Context, req RobotRequest) (MintResponse, error) {
	var out MintResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/robots", body: req, out: &out})
}

// Robots is GET /api/v1/robots (ID3).
func (c *Client) Robots(ctx context.Context) (RobotsResponse, error) {
	var out RobotsResponse
	return out, c.get(ctx, v1+"/robots", nil, &out)
}

// DeleteRobot is DELETE /api/v1/robots/{name} (ID3).
func (c *Client) DeleteRobot(ctx context.Context, name string) (SubjectResponse, error) {
	var out SubjectResponse
	return out, c.do(ctx, call{method: "DELETE", path: path(v1+"/robots", name), idempotent: true, out: &out})
}

// Audit is GET /api/v1/audit (AU1).
func (c *Client) Audit(ctx context.Context, q AuditQuery) (AuditResponse, error) {
	v := url.Values{}
	if q.Org != "" {
		v.Set("org", q.Org)
	}
	if q.Actor != "" {
		v.Set("actor", q.Actor)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out AuditResponse
	return out, c.get(ctx, v1+"/audit", v, &out)
}
