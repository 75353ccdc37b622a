package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/pipelines"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/roles"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Repo roles (R1-R3) and pipelines (PL1-PL4), contract D2.

const (
	paramName    = "name"
	paramSubject = "subject"
)

// errRepoGone: a repo named by a pipeline was deleted while it was being wired.
var errRepoGone = fail(409, "repo_gone")

func (s *server) pipelineRoutes() []route {
	return []route{
		{Method: "GET", Path: "/api/v1/repos/:org/:repo/roles", Summary: "A repo's direct grants", Rules: "R2", Response: client.RolesResponse{}, Status: 200, Op: authz.OpRepoRolesRead,
			Description: "Subjects are typed: users, robots, service accounts, team:<org>/<team> (its members) and org:<org>#member. A repo the caller cannot read is 404.",
			Errors:      []failure{errNotFound}, handler: s.onRepo(s.listRoles)},
		{Method: "GET", Path: "/api/v1/repos/:org/:repo/roles/*subject", Summary: "A subject's effective (highest) role on a repo", Rules: "R1 R2 R3", Response: client.RepoRole{}, Status: 200, Op: authz.OpRepoRolesRead,
			Description: "reader, writer, owner or none, by any path (direct, team, org role, admin). For a pipeline: writer on its output, reader on its inputs, while its creator can (PL3).",
			Errors:      []failure{errNotFound}, handler: s.onRepo(s.getRole)},
		{Method: "PUT", Path: "/api/v1/repos/:org/:repo/roles/*subject", Summary: "Set a subject's role on a repo, replacing its previous one", Rules: "R1 R2 R3 PL4", Request: client.RepoRole{}, Response: client.RoleSetResponse{}, Status: 200, Audit: "repo.role.set", Op: authz.OpRepoRolesSet,
			Description: "One atomic write replaces the subject's direct role; none removes it. Needs manage_acl on the repo (owners, org admins, platform admins): 403 when the caller reads but cannot manage it, 404 when it cannot read it. A pipeline can be granted nothing (PL4).",
			Errors:      []failure{errNotFound}, handler: s.onRepo(s.setRole)},
		{Method: "POST", Path: "/api/v1/orgs/:org/pipelines", Summary: "Create a pipeline acting for the caller", Rules: "PL1 PL2 PL3", Request: client.PipelineRequest{}, Response: client.Pipeline{}, Status: 201, Audit: "pipeline.create", Op: authz.OpPipelineCreate,
			Description: "Needs read on every input and write on the output; a refusal is 403 with details.missing listing every {repo, permission} lacking. Inputs that do not exist (when the caller sees their org) or repeat, and an output that is also an input or outside the org, are 400 naming the field. The creator becomes owner of the output (PL2).",
			Errors:      []failure{errNotFound, errExists, errRepoGone}, handler: s.createPipeline},
		{Method: "PUT", Path: "/api/v1/pipelines/:org/:name", Summary: "Replace a pipeline's inputs and output", Rules: "PL1 PL2", Request: client.PipelineUpdate{}, Response: client.Pipeline{}, Status: 200, Audit: "pipeline.update", Op: authz.OpPipelineUpdate,
			Description: "Its creator or the org's admins; the same PL1 checks on the caller; the wiring is replaced in one atomic write. The pipeline keeps acting for its creator.",
			Errors:      []failure{errNotFound, errRepoGone, errCreatorGone}, handler: s.onPipeline(s.updatePipeline)},
		{Method: "DELETE", Path: "/api/v1/pipelines/:org/:name", Summary: "Delete a pipeline, its wiring and its tokens", Rules: "PL3", Response: client.DeletedResponse{}, Status: 200, Audit: "pipeline.delete", Op: authz.OpPipelineDelete,
			Errors: []failure{errNotFound}, handler: s.onPipeline(s.deletePipeline)},
		{Method: "POST", Path: "/api/v1/pipelines/:org/:name/token", Summary: "Mint the pipeline's own token", Rules: "PL3 T4", Request: client.PipelineTokenRequest{}, Response: client.MintResponse{}, Status: 201, Audit: "pipeline.token", Op: authz.OpPipelineToken, Secret: true,
			Description: "Subject pipeline:<org>/<name>, acting as the pipeline (its creator's access, PL3), within the token lifetime bounds and its creator's: a pipeline whose creator's API key expired or was deleted gets none (409 creator_gone), and no token outlives that key. It derives from the token making the request, like POST /api/v1/tokens: it never outlives it (capped:true says either cut) and revoking, deleting or expiring it refuses the pipeline token; deleting the pipeline refuses it too.",
			Errors:      []failure{errNotFound, errCreatorGone}, handler: s.onPipeline(s.pipelineToken)},
	}
}

// onRepo hands fn the path's repo, which the middleware decided op on (authz.Route).
func (s *server) onRepo(fn func(c *gin.Context, repo relations.Object)) gin.HandlerFunc {
	return func(c *gin.Context) {
		repo, err := roles.RepoObject(c.Param(paramOrg), c.Param(paramRepo))
		if err != nil {
			writeError(c, err)
			return
		}
		fn(c, repo)
	}
}

// onPipeline hands fn the path's pipeline, which the middleware decided op on
// (authz.Route).
func (s *server) onPipeline(fn func(c *gin.Context, org, name string)) gin.HandlerFunc {
	return func(c *gin.Context) { fn(c, c.Param(paramOrg), c.Param(paramName)) }
}

func (s *server) listRoles(c *gin.Context, repo relations.Object) {
	list, err := s.Roles.List(c.Request.Context(), repo)
	if err != nil {
		writeError(c, err)
		return
	}
	out := client.RolesResponse{Roles: make([]client.RoleGrant, len(list))}
	for i, g := range list {
		out.Roles[i] = client.RoleGrant{Subject: g.Subject, Role: g.Role}
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) getRole(c *gin.Context, repo relations.Object) {
	sub, err := roles.ParseAnySubject(paramSubject, pathParam(c, paramSubject))
	if err != nil {
		writeError(c, err)
		return
	}
	role, err := s.Roles.Effective(c.Request.Context(), repo, sub)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.RepoRole{Role: role})
}

func (s *server) setRole(c *gin.Context, repo relations.Object) {
	var req client.RepoRole
	if !bind(c, &req) {
		return
	}
	sub, err := roles.ParseSubject(paramSubject, pathParam(c, paramSubject))
	if err == nil {
		err = roles.CheckRole(req.Role)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	auditTarget(c, repo.String()+"#"+req.Role+"@"+roles.Subject(sub), identity.OrgOf(repo))
	token, err := s.Roles.Set(c.Request.Context(), repo, sub, req.Role)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.RoleSetResponse{Repo: repo.ID, Subject: roles.Subject(sub), Role: req.Role, WrittenAt: token})
}

func toPipeline(p store.Pipeline) client.Pipeline {
	return client.Pipeline{Org: p.Org, Name: p.Name, Subject: relations.Subject{Object: pipelines.Object(p.Org, p.Name)}.String(),
		Creator: p.Creator, Inputs: p.Inputs, Output: p.Output, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, CreatedBy: p.CreatedBy}
}

func (s *server) createPipeline(c *gin.Context) {
	var req client.PipelineRequest
	if !bind(c, &req) {
		return
	}
	org := c.Param(paramOrg)
	auditTarget(c, "pipeline:"+org+"/"+req.Name, org)
	p, err := s.Pipelines.Create(c.Request.Context(), principal(c), org, req.Name, pipelines.Spec{Inputs: req.Inputs, Output: req.Output})
	if err != nil {
		writeDataError(c, err)
		return
	}
	c.JSON(http.StatusCreated, toPipeline(p))
}

func (s *server) updatePipeline(c *gin.Context, org, name string) {
	var req client.PipelineUpdate
	if !bind(c, &req) {
		return
	}
	auditTarget(c, "pipeline:"+org+"/"+name, org)
	p, err := s.Pipelines.Update(c.Request.Context(), principal(c), org, name, pipelines.Spec{Inputs: req.Inputs, Output: req.Output})
	if err != nil {
		writeDataError(c, err)
		return
	}
	c.JSON(http.StatusOK, toPipeline(p))
}

func (s *server) deletePipeline(c *gin.Context, org, name string) {
	auditTarget(c, "pipeline:"+org+"/"+name, org)
	if err := s.Pipelines.Delete(c.Request.Context(), org, name); err != nil {
		writeDataError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.DeletedResponse{Deleted: "pipeline:" + org + "/" + name})
}

func (s *server) pipelineToken(c *gin.Context, org, name string) {
	var req client.PipelineTokenRequest
	if !bind(c, &req) {
		return
	}
	parent := principal(c) // the pipeline token derives from the caller's (T3, T4)
	m, err := s.Pipelines.TokenFrom(c.Request.Context(), &parent, org, name, req.TTL.D())
	if err != nil {
		writeDataError(c, err)
		return
	}
	logger(c).Info("pipeline token minted", "token_id", m.ID, "for", m.Subject)
	auditTarget(c, "token:"+m.ID, org)
	c.JSON(http.StatusCreated, minted(m))
}
