package client

import (
	"strings"
	"time"
)

// The accesses of B6's credential requests.
const (
	AccessRead  = "read"
	AccessWrite = "write"
)

// CredentialsRequest is POST /api/v1/repos/{org}/{repo}/credentials's body (B6): access
// "read" or "write", and an optional lifetime as a Go duration ("1h"; default the
// server's, within its bounds).
type CredentialsRequest struct {
	Access   string `json:"access"`
	Duration string `json:"duration,omitempty"`
}

// CredentialsResponse is temporary credentials scoped to one repo's prefix (B6). For a
// self_managed bucket config the keys and the expiration are empty: only the location is
// given.
type CredentialsResponse struct {
	AccessKeyID     string     `json:"access_key_id"`
	SecretAccessKey string     `json:"secret_access_key"`
	SessionToken    string     `json:"session_token"`
	Expiration      *time.Time `json:"expiration"`
	Platform        string     `json:"platform"`
	Bucket          string     `json:"bucket"`
	Prefix          string     `json:"prefix"`
	EndpointURL     string     `json:"endpoint_url"`
	Region          string     `json:"region"`
	Access          string     `json:"access"`
}

// URI is the repo's place in the object store: platform://bucket/prefix/.
func (r CredentialsResponse) URI() string {
	return r.Platform + "://" + r.Bucket + "/" + r.Prefix
}

// EnvVar is one environment variable for AWS tools.
type EnvVar struct{ Name, Value string }

// Environment lists the variables AWS SDKs and tools read (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION, AWS_ENDPOINT_URL,
// AWS_REGION, AWS_DEFAULT_REGION), leaving out what the answer does not carry.
func (r CredentialsResponse) Environment() []EnvVar {
	var out []EnvVar
	add := func(name, value string) {
		if value != "" {
			out = append(out, EnvVar{name, value})
		}
	}
	add("AWS_ACCESS_KEY_ID", r.AccessKeyID)
	add("AWS_SECRET_ACCESS_KEY", r.SecretAccessKey)
	add("AWS_SESSION_TOKEN", r.SessionToken)
	if r.Expiration != nil && r.AccessKeyID != "" {
		add("AWS_CREDENTIAL_EXPIRATION", r.Expiration.UTC().Format(time.RFC3339))
	}
	add("AWS_ENDPOINT_URL", r.EndpointURL)
	add("AWS_REGION", r.Region)
	add("AWS_DEFAULT_REGION", r.Region)
	return out
}

// ShellQuote quotes s for a POSIX shell: in single quotes, each ' written as '\”.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
