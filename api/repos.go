package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/repos"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

// paramRepo names a repo in its URLs (/repos/:org/:repo).
const paramRepo = "repo"

// Failures of the repo routes (repos/).
var errRepoCreate = fail(409, "already_exists", "no_default_bucket", "bucket_deleted", "bucket_in_use")

// repoRoutes are the repo routes (R1, R4, R5).
func (s *server) repoRoutes() []route {
	const one = "/api/v1/repos/:org/:" + paramRepo
	return []route{
		{Method: "POST", Path: "/api/v1/orgs/:org/repos", Summary: "Create a repo in a bucket config (the org's default when none is named)", Rules: "R1 R4 O2", Request: client.RepoRequest{}, Response: client.Repo{}, Status: 201, Audit: "repo.create", Op: authz.OpRepoCreate,
			Description: "Org members create repos in either access mode; the creator becomes its owner. The repo gets a prefix of its own inside the bucket, never reused. 409 no_default_bucket when no bucket is named and the org has no default.",
			Errors:      []failure{errNotFound, errRepoCreate}, handler: s.createRepo},
		{Method: "GET", Path: "/api/v1/orgs/:org/repos", Summary: "List the org's repos the caller can read", Rules: "R5", Response: client.ReposResponse{}, Status: 200, Op: authz.OpRepoList, Errors: []failure{errNotFound}, handler: s.listRepos},
		{Method: "GET", Path: one, Summary: "Get a repo", Rules: "R4", Response: client.Repo{}, Status: 200, Op: authz.OpRepoRead,
			Description: "A repo the caller cannot read is 404, like an absent one.", Errors: []failure{errNotFound}, handler: s.getRepo},
		{Method: "DELETE", Path: one, Summary: "Delete a repo and every relationship that mentions it", Rules: "R5 O2", Response: client.DeletedResponse{}, Status: 200, Audit: "repo.delete", Op: authz.OpRepoDelete,
			Description: "Needs delete on the repo (owners, org admins, members where the org is open to them); a repo the caller cannot read is 404.", Errors: []failure{errNotFound}, handler: s.deleteRepo},
	}
}

// toRepo is the API view of a repo; nickname is its bucket config's.
func toRepo(r store.Repo, nickname string) client.Repo {
	return client.Repo{Name: r.Org + "/" + r.Name, Bucket: nickname, Prefix: r.Prefix, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
}

// nicknameOf returns the nickname of a repo's bucket config ("" if it is gone).
func (s *server) nicknameOf(c *gin.Context, r store.Repo) string {
	b, err := s.Buckets.GetByID(c.Request.Context(), r.BucketID)
	if err != nil {
		return ""
	}
	return b.Nickname
}

func (s *server) createRepo(c *gin.Context) {
	var req client.RepoRequest
	if !s.dataReady(c) || !bind(c, &req) {
		return
	}
	org := c.Param(paramOrg)
	auditTarget(c, repos.Object(org, req.Name).String(), org)
	r, b, err := s.Repos.Create(c.Request.Context(), subjectOf(principal(c)), org, req.Name, req.Bucket)
	if err != nil {
		writeDataError(c, err)
		return
	}
	c.JSON(http.StatusCreated, toRepo(r, b.Nickname))
}

func (s *server) listRepos(c *gin.Context) {
	if !s.dataReady(c) {
		return
	}
	ctx, p, org := c.Request.Context(), principal(c), c.Param(paramOrg)
	all, err := s.Repos.List(ctx, org)
	if err != nil {
		writeDataError(c, err)
		return
	}
	readable, err := s.Authz.ReadableRepos(ctx, p, org)
	if err != nil {
		writeDataError(c, err)
		return
	}
	out := client.ReposResponse{Repos: []client.Repo{}}
	for _, r := range all {
		if readable[r.Name] {
			out.Repos = append(out.Repos, toRepo(r, s.nicknameOf(c, r)))
		}
	}
	if len(out.Repos) == 0 { // an org the caller cannot see is 404, like an absent one
		if err := s.Authz.Decide(ctx, p, authz.OpOrgRead, org); apperr.KindOf(err) == apperr.NotFound {
			writeDataError(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, out)
}

// decidedRepo decides permission on the URL's repo and returns its record; false when it
// answered with an error.
func (s *server) decidedRepo(c *gin.Context, permission string) (store.Repo, bool) {
	if !s.dataReady(c) {
		return store.Repo{}, false
	}
	org, name := c.Param(paramOrg), c.Param(paramRepo)
	if err := s.Authz.DecideRepo(c.Request.Context(), principal(c), org, name, permission); err != nil {
		writeDataError(c, err)
		return store.Repo{}, false
	}
	r, err := s.Repos.Get(c.Request.Context(), org, name)
	if err != nil && !(permission == schema.PermDelete && apperr.KindOf(err) == apperr.NotFound) {
		writeDataError(c, err)
		return r, false
	}
	r.Org, r.Name = org, name
	return r, true
}

func (s *server) getRepo(c *gin.Context) {
	r, ok := s.decidedRepo(c, schema.PermRead)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, toRepo(r, s.nicknameOf(c, r)))
}

func (s *server) deleteRepo(c *gin.Context) {
	org, name := c.Param(paramOrg), c.Param(paramRepo)
	auditTarget(c, repos.Object(org, name).String(), org)
	if _, ok := s.decidedRepo(c, schema.PermDelete); !ok {
		return
	}
	if err := s.Repos.Delete(c.Request.Context(), org, name); err != nil {
		writeDataError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.DeletedResponse{Deleted: repos.Object(org, name).String()})
}
