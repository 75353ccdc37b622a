package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/store"
)

type orgRequest struct {
	Name string `json:"name"`
}

type orgBody struct {
	Name       string    `json:"name"`
	RepoAccess string    `json:"repo_access"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
}

type orgsResponse struct {
	Orgs []orgBody `json:"orgs"`
}

type orgPatch struct {
	RepoAccess string `json:"repo_access"`
}

type roleBody struct {
	Role string `json:"role"`
}

type membersResponse struct {
	Members []orgs.Member `json:"members"`
}

type teamsResponse struct {
	Teams []string `json:"teams"`
}

type teamResponse struct {
	Team string `json:"team"`
}

type apiKeyRequest struct {
	Name     string   `json:"name"`
	Lifetime Duration `json:"lifetime,omitempty"`
	Role     string   `json:"role,omitempty"`
}

type apiKeysResponse struct {
	Keys []orgs.KeyInfo `json:"api_keys"`
}

type deletedResponse struct {
	Deleted string `json:"deleted"`
}

func toOrgBody(o store.Org) orgBody {
	return orgBody{Name: o.Name, RepoAccess: o.RepoAccess, CreatedAt: o.CreatedAt, CreatedBy: o.CreatedBy}
}

func (s *server) createOrg(c *gin.Context) {
	var req orgRequest
	if !bind(c, &req) {
		return
	}
	if req.Name == "" {
		writeError(c, apperr.InvalidField("name", "is required"))
		return
	}
	o, err := s.Orgs.Create(c.Request.Context(), principal(c).Subject, req.Name)
	if err != nil {
		writeError(c, err)
		return
	}
	auditTarget(c, "org:"+o.Name, o.Name)
	c.JSON(http.StatusCreated, toOrgBody(o))
}

func (s *server) listOrgs(c *gin.Context) {
	p := principal(c)
	admin, err := s.Authz.PlatformAdmin(c.Request.Context(), p)
	if err != nil {
		writeError(c, err)
		return
	}
	list, err := s.Orgs.List(c.Request.Context(), subjectOf(p), admin)
	if err != nil {
		writeError(c, err)
		return
	}
	out := orgsResponse{Orgs: []orgBody{}}
	for _, o := range list {
		if authz.Visible(p, o.Name) {
			out.Orgs = append(out.Orgs, toOrgBody(o))
		}
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) getOrg(c *gin.Context) {
	org := c.Param("org")
	o, err := s.Orgs.Get(c.Request.Context(), org)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toOrgBody(o))
}

func (s *server) patchOrg(c *gin.Context) {
	var req orgPatch
	org := c.Param("org")
	if !bind(c, &req) {
		return
	}
	o, err := s.Orgs.SetRepoAccess(c.Request.Context(), org, req.RepoAccess)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toOrgBody(o))
}

func (s *server) deleteOrg(c *gin.Context) {
	org := c.Param("org")
	if err := s.Orgs.Delete(c.Request.Context(), org); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, deletedResponse{Deleted: "org:" + org})
}

func (s *server) listMembers(c *gin.Context) {
	org := c.Param("org")
	members, err := s.Orgs.Members(c.Request.Context(), org)
	if err != nil {
		writeError(c, err)
		return
	}
	if members == nil {
		members = []orgs.Member{}
	}
	c.JSON(http.StatusOK, membersResponse{Members: members})
}

func (s *server) setMember(c *gin.Context) {
	var req roleBody
	org := c.Param("org")
	if !bind(c, &req) {
		return
	}
	m, err := s.Orgs.SetMember(c.Request.Context(), org, c.Param("email"), req.Role)
	if err != nil {
		writeError(c, err)
		return
	}
	auditTarget(c, m.Subject, org)
	c.JSON(http.StatusOK, m)
}

func (s *server) removeMember(c *gin.Context) {
	org := c.Param("org")
	if err := s.Orgs.RemoveMember(c.Request.Context(), org, c.Param("email")); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, deletedResponse{Deleted: "user:" + c.Param("email")})
}

func (s *server) listTeams(c *gin.Context) {
	org := c.Param("org")
	teams, err := s.Orgs.Teams(c.Request.Context(), org)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, teamsResponse{Teams: teams})
}

func (s *server) putTeam(c *gin.Context) {
	org, team := c.Param("org"), c.Param("team")
	if err := s.Orgs.CreateTeam(c.Request.Context(), org, team); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, teamResponse{Team: "team:" + org + "/" + team})
}

func (s *server) deleteTeam(c *gin.Context) {
	org, team := c.Param("org"), c.Param("team")
	if err := s.Orgs.DeleteTeam(c.Request.Context(), org, team); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, deletedResponse{Deleted: "team:" + org + "/" + team})
}

func (s *server) putTeamMember(c *gin.Context) {
	org, team := c.Param("org"), c.Param("team")
	m, err := s.Orgs.AddTeamMember(c.Request.Context(), org, team, pathParam(c, "subject"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, subjectResponse{Subject: m})
}

func (s *server) deleteTeamMember(c *gin.Context) {
	org, team := c.Param("org"), c.Param("team")
	if err := s.Orgs.RemoveTeamMember(c.Request.Context(), org, team, pathParam(c, "subject")); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, deletedResponse{Deleted: pathParam(c, "subject")})
}

func (s *server) createAPIKey(c *gin.Context) {
	var req apiKeyRequest
	org := c.Param("org")
	if !bind(c, &req) {
		return
	}
	if req.Name == "" {
		writeError(c, apperr.InvalidField("name", "is required"))
		return
	}
	k, err := s.Orgs.CreateAPIKey(c.Request.Context(), principal(c).Subject, org, req.Name, req.Lifetime.D(), req.Role)
	if err != nil {
		writeError(c, err)
		return
	}
	auditTarget(c, k.Subject, org)
	c.JSON(http.StatusCreated, k)
}

func (s *server) listAPIKeys(c *gin.Context) {
	org := c.Param("org")
	keys, err := s.Orgs.APIKeys(c.Request.Context(), org)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, apiKeysResponse{Keys: keys})
}

func (s *server) deleteAPIKey(c *gin.Context) {
	org, name := c.Param("org"), c.Param("name")
	if err := s.Orgs.DeleteAPIKey(c.Request.Context(), org, name); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, deletedResponse{Deleted: "sa:" + name + "@" + org})
}
