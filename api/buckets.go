package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/store"
)

// paramNickname names a bucket config in its org's URLs.
const paramNickname = "nickname"

// Failures of the bucket config routes (buckets/).
var (
	errBucketChange = fail(409, "already_exists", "location_overlap", "bucket_in_use")
	errBucketIAM    = fail(409, "not_aws_role", "not_configured")
)

// bucketRoutes are the bucket config routes (B1-B5, B7).
func (s *server) bucketRoutes() []route {
	const base = "/api/v1/orgs/:org/buckets"
	const one = base + "/:" + paramNickname
	return []route{
		{Method: "POST", Path: base, Summary: "Create a bucket config (org admins)", Rules: "B1 B2 B5", Request: client.BucketRequest{}, Response: client.Bucket{}, Status: 201, Audit: "bucket.create", Op: authz.OpBucketManage,
			Description: "uri is platform://bucket[/prefix]; no two configs on the platform may point at the same or an overlapping location (409 location_overlap). The org's first config, or one created with default:true, becomes its default. Secrets are sealed at rest and never returned.",
			Errors:      []failure{errNotFound, errBucketChange}, handler: s.createBucket},
		{Method: "GET", Path: base, Summary: "List an org's bucket configs (no secrets)", Rules: "B1 B5", Response: client.BucketsResponse{}, Status: 200, Op: authz.OpBucketRead, Errors: []failure{errNotFound}, handler: s.listBuckets},
		{Method: "GET", Path: one, Summary: "Get a bucket config (no secrets)", Rules: "B1 B5", Response: client.Bucket{}, Status: 200, Op: authz.OpBucketRead, Errors: []failure{errNotFound}, handler: s.getBucket},
		{Method: "PATCH", Path: one, Summary: "Change a bucket config; while in use only its nickname", Rules: "B3", Request: client.BucketPatch{}, Response: client.Bucket{}, Status: 200, Audit: "bucket.update", Op: authz.OpBucketManage,
			Description: "While any repo uses the config only nickname and default can change; anything else is 409 bucket_in_use with details.repos.",
			Errors:      []failure{errNotFound, errBucketChange}, handler: s.patchBucket},
		{Method: "DELETE", Path: one, Summary: "Delete an unused bucket config, for good", Rules: "B4", Response: client.DeletedResponse{}, Status: 200, Audit: "bucket.delete", Op: authz.OpBucketManage,
			Description: "A config in use is refused with 409 bucket_in_use and details.repos.",
			Errors:      []failure{errNotFound, errBucketInUse}, handler: s.deleteBucket},
		{Method: "GET", Path: one + "/iam-policy", Summary: "The IAM permission and trust policies of an aws_role config", Rules: "B7", Response: client.IAMPolicyResponse{}, Status: 200, Op: authz.OpBucketManage,
			Description: "The trust policy carries the external ID, so only org admins may read it.",
			Errors:      []failure{errNotFound, errBucketIAM}, handler: s.bucketIAMPolicy},
	}
}

// toBucket is the API view of a config: no secret, ever (B5).
func toBucket(b store.BucketConfig) client.Bucket {
	uri := ""
	if loc, err := buckets.Location(b); err == nil {
		uri = loc.URI()
	}
	return client.Bucket{
		Org: b.Org, Nickname: b.Nickname, URI: uri, Platform: b.Platform, Bucket: b.Bucket, Prefix: b.Prefix,
		ExtraConfig: client.BucketExtraConfig{EndpointURL: b.EndpointURL, Region: b.Region},
		Auth:        client.BucketAuth{Type: b.AuthType, AccessKeyID: b.AccessKeyID, RoleARN: b.RoleARN},
		Default:     b.Default, CreatedAt: b.CreatedAt, CreatedBy: b.CreatedBy,
	}
}

func toAuth(a client.BucketAuth) credentials.Auth {
	return credentials.Auth{Type: credentials.AuthType(a.Type), AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey,
		RoleARN: a.RoleARN, ExternalID: a.ExternalID}
}

// writeDataError writes err of the bucket and repo services. An error that is neither a
// domain error nor the engine's is the database's (the services return store errors as
// they are): 503, failing closed, never a half-known 500.
func writeDataError(c *gin.Context, err error) {
	var ae *apperr.Error
	if !errors.As(err, &ae) && toAppErr(err).Kind == apperr.Internal {
		err = apperr.New(apperr.Unavailable, "unavailable", "Gatehouse's database is unavailable; nothing is changed or shown until it answers").WithCause(err)
	}
	writeError(c, err)
}

// dataReady answers 503 when the bucket and repo services are not wired.
func (s *server) dataReady(c *gin.Context) bool {
	if s.Buckets == nil || s.Repos == nil {
		writeError(c, apperr.New(apperr.Unavailable, "unavailable", "bucket configs and repos are not configured"))
		return false
	}
	return true
}

func (s *server) createBucket(c *gin.Context) {
	var req client.BucketRequest
	if !s.dataReady(c) || !bind(c, &req) {
		return
	}
	org := c.Param(paramOrg)
	auditTarget(c, buckets.Object(org, req.Nickname).String(), org)
	b, err := s.Buckets.Create(c.Request.Context(), principal(c).Subject, org, buckets.Input{
		Nickname: req.Nickname, URI: req.URI, Platform: req.Platform, EndpointURL: req.ExtraConfig.EndpointURL,
		Region: req.ExtraConfig.Region, Auth: toAuth(req.Auth), Default: req.Default,
	})
	if err != nil {
		writeDataError(c, err)
		return
	}
	c.JSON(http.StatusCreated, toBucket(b))
}

func (s *server) listBuckets(c *gin.Context) {
	if !s.dataReady(c) {
		return
	}
	list, err := s.Buckets.List(c.Request.Context(), c.Param(paramOrg))
	if err != nil {
		writeDataError(c, err)
		return
	}
	out := client.BucketsResponse{Buckets: make([]client.Bucket, 0, len(list))}
	for _, b := range list {
		out.Buckets = append(out.Buckets, toBucket(b))
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) getBucket(c *gin.Context) {
	if !s.dataReady(c) {
		return
	}
	b, err := s.Buckets.Get(c.Request.Context(), c.Param(paramOrg), c.Param(paramNickname))
	if err != nil {
		writeDataError(c, err)
		return
	}
	c.JSON(http.StatusOK, toBucket(b))
}

func (s *server) patchBucket(c *gin.Context) {
	var req client.BucketPatch
	if !s.dataReady(c) || !bind(c, &req) {
		return
	}
	org, nickname := c.Param(paramOrg), c.Param(paramNickname)
	auditTarget(c, buckets.Object(org, nickname).String(), org)
	p := buckets.Patch{Nickname: req.Nickname, URI: req.URI, Platform: req.Platform, Default: req.Default}
	if req.ExtraConfig != nil {
		p.EndpointURL, p.Region = req.ExtraConfig.EndpointURL, req.ExtraConfig.Region
	}
	if req.Auth != nil {
		a := toAuth(*req.Auth)
		p.Auth = &a
	}
	b, err := s.Buckets.Update(c.Request.Context(), org, nickname, p)
	if err != nil {
		writeDataError(c, err)
		return
	}
	c.JSON(http.StatusOK, toBucket(b))
}

func (s *server) deleteBucket(c *gin.Context) {
	if !s.dataReady(c) {
		return
	}
	org, nickname := c.Param(paramOrg), c.Param(paramNickname)
	obj := buckets.Object(org, nickname).String()
	auditTarget(c, obj, org)
	if err := s.Buckets.Delete(c.Request.Context(), org, nickname); err != nil {
		writeDataError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.DeletedResponse{Deleted: obj})
}

func (s *server) bucketIAMPolicy(c *gin.Context) {
	if !s.dataReady(c) {
		return
	}
	perm, trust, err := s.Buckets.IAMPolicies(c.Request.Context(), c.Param(paramOrg), c.Param(paramNickname))
	if err != nil {
		writeDataError(c, err)
		return
	}
	var out client.IAMPolicyResponse
	for _, d := range []struct {
		doc credentials.PolicyDocument
		to  *map[string]any
	}{{perm, &out.PermissionPolicy}, {trust, &out.TrustPolicy}} {
		b, err := json.Marshal(d.doc)
		if err == nil {
			err = json.Unmarshal(b, d.to)
		}
		if err != nil {
			writeDataError(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, out)
}
