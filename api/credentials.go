package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/repos"
)

// Failures of credential vending (credentials/vend.go names the codes).
var (
	errNotScopable    = fail(409, "credentials_not_scopable", "sts_refused")
	errSTSUnavailable = fail(503, "sts_unavailable")
)

// credentialRoutes is credential vending (B6).
func (s *server) credentialRoutes() []route {
	return []route{
		{Method: "POST", Path: "/api/v1/repos/:org/:repo/credentials", Summary: "Temporary bucket credentials scoped to the repo's prefix",
			Rules: "B6", Request: client.CredentialsRequest{}, Response: client.CredentialsResponse{}, Status: 200,
			Audit: "credentials.vend", Op: authz.OpRepoCredentials, Secret: true,
			Description: "access read needs read on the repo, write needs write (asking for less than one holds is fine); a repo the caller cannot read is 404. " +
				"duration is a Go duration within the server's bounds (default 1h). The location comes from the repo's stored bucket config: " +
				"aws_role assumes its role with the external ID, hmac calls the store's own STS with the stored keys, both with a session policy " +
				"limited to the repo's prefix; self_managed gives the location only (no keys, expiration null). Where credentials cannot be " +
				"scoped the answer is 409 with the reason: long-lived keys are never returned. Every call is audited (never the secret).",
			Errors: []failure{errNotFound, errNotScopable, errSTSUnavailable}, handler: s.vendCredentials},
	}
}

// vendCredentials checks the request, then who may have what (authz), then reads the
// repo's stored row and its bucket config (never relationships) and vends.
func (s *server) vendCredentials(c *gin.Context) {
	var req client.CredentialsRequest
	if !s.dataReady(c) || !s.vendingReady(c) || !bind(c, &req) {
		return
	}
	org, name := c.Param(paramOrg), c.Param(paramRepo)
	auditTarget(c, repos.Object(org, name).String(), org)
	access, d, err := s.credentialsInput(req)
	if err != nil {
		writeError(c, err)
		return
	}
	auditDetail(c, "access", string(access))
	ctx := c.Request.Context()
	p := principal(c)
	if err := s.Authz.VendCredentials(ctx, p, org, name, access == credentials.AccessWrite); err != nil {
		writeError(c, err)
		return
	}
	repo, err := s.Repos.Get(ctx, org, name)
	if err != nil {
		writeError(c, err)
		return
	}
	target, err := s.Buckets.Target(ctx, repo)
	if err != nil {
		writeError(c, err)
		return
	}
	auditDetail(c, "location", target.Location.URI())
	auditDetail(c, "auth_type", string(target.Auth.Type))
	creds, err := s.Vendor.Vend(ctx, credentials.Request{Target: target, Access: access, Duration: d, Caller: p.Subject})
	if err != nil {
		writeError(c, err)
		return
	}
	out := client.CredentialsResponse{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
		Platform: string(creds.Platform), Bucket: creds.Bucket, Prefix: creds.Prefix,
		EndpointURL: creds.EndpointURL, Region: creds.Region, Access: string(creds.Access),
	}
	if creds.HasKeys() {
		exp := creds.Expiration
		out.Expiration = &exp
		auditDetail(c, "expiration", exp.Format(time.RFC3339))
		auditDetail(c, "session_name", creds.SessionName)
		auditDetail(c, "access_key_id", creds.AccessKeyID) // the key's id, to match the store's logs; never the secret
	}
	c.JSON(http.StatusOK, out)
}

// vendingReady answers 503 when no Vendor is configured.
func (s *server) vendingReady(c *gin.Context) bool {
	if s.Vendor == nil {
		writeError(c, apperr.New(apperr.Unavailable, "unavailable", "credential vending is not configured"))
		return false
	}
	return true
}

// credentialsInput checks the body: a known access and a duration within bounds, each
// error naming its field, before anything about the repo is asked.
func (s *server) credentialsInput(req client.CredentialsRequest) (credentials.Access, time.Duration, error) {
	if req.Access == "" {
		return "", 0, apperr.InvalidField("access", "is required: read or write")
	}
	access, err := credentials.ParseAccess(req.Access)
	if err != nil {
		return "", 0, err
	}
	var d time.Duration
	if req.Duration != "" {
		if d, err = time.ParseDuration(req.Duration); err != nil || d <= 0 {
			return "", 0, apperr.InvalidField("duration", "%q is not a positive duration such as 1h or 30m", clipValue(req.Duration))
		}
	}
	if _, err := s.Vendor.Duration(d); err != nil {
		return "", 0, err
	}
	return access, d, nil
}

// clipValue shortens a caller's value for an error message.
func clipValue(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
