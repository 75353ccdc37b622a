package client

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a Go duration string on the wire ("1h", "720h"); the empty string is zero.
type Duration time.Duration

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string; anything else is a *DurationError.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &DurationError{Value: string(b)}
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &DurationError{Value: s}
	}
	*d = Duration(v)
	return nil
}

// DurationError is a value that is not a Go duration string.
type DurationError struct{ Value string }

func (e *DurationError) Error() string {
	return fmt.Sprintf("%q is not a duration such as \"1h\" or \"720h\"", e.Value)
}

// ErrorBody is the one error shape of the API: {"error": {...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of an ErrorBody, and the error of one bulk check item.
type ErrorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Field   string         `json:"field,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// StatusResponse answers ping, health, readiness, deactivation and logout.
type StatusResponse struct {
	Status string `json:"status"`
}

// VersionResponse answers GET /api/iam/version.
type VersionResponse struct {
	Version string `json:"version"`
}

// ActivateRequest is POST /api/v1/activate's body (P1).
type ActivateRequest struct {
	InitialAdmin string   `json:"initial_admin"`
	TTL          Duration `json:"ttl,omitempty"`
}

// ActivateResponse is the first admin; Token is set (once) when the admin is a robot.
type ActivateResponse struct {
	Subject   string     `json:"subject"`
	Token     string     `json:"token,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// DeactivateRequest is POST /api/v1/deactivate's body; Confirm must be "deactivate" (P3).
type DeactivateRequest struct {
	Confirm string `json:"confirm"`
}

// AdminsResponse lists the platform admins (P2).
type AdminsResponse struct {
	Admins []string `json:"admins"`
}

// SubjectResponse names the subject a call acted on.
type SubjectResponse struct {
	Subject string `json:"subject"`
}

// ModeBody is admin-only mode, read and written (P4). AdminOnly is required on writes.
type ModeBody struct {
	AdminOnly *bool `json:"admin_only"`
}

// RobotRequest is POST /api/v1/robots's body (ID3).
type RobotRequest struct {
	Name string   `json:"name"`
	TTL  Duration `json:"ttl,omitempty"`
}

// RobotInfo is one robot in a RobotsResponse.
type RobotInfo struct {
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// RobotsResponse lists the robots.
type RobotsResponse struct {
	Robots []RobotInfo `json:"robots"`
}

// MintResponse is a new token, shown once: POST /api/v1/tokens and /api/v1/robots.
type MintResponse struct {
	ID        string    `json:"id"`
	Subject   string    `json:"subject"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	// Capped: ExpiresAt was cut to the expiry of the token that minted this one (a
	// derived token never outlives its parent).
	Capped bool `json:"capped"`
}

// AuditEvent is one entry of the audit log (AU1).
type AuditEvent struct {
	Time    time.Time         `json:"time"`
	Actor   string            `json:"actor"`
	Action  string            `json:"action"`
	Target  string            `json:"target"`
	Org     string            `json:"org,omitempty"`
	Outcome string            `json:"outcome"`
	Details map[string]string `json:"details,omitempty"`
}

// AuditResponse is GET /api/v1/audit's answer.
type AuditResponse struct {
	Events []AuditEvent `json:"events"`
}

// AuditQuery filters GET /api/v1/audit; zero fields are not sent.
type AuditQuery struct {
	Org   string
	Actor string
	Since time.Time
	Limit int
}
