package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

func (s *server) createOrg(c *gin.Context) {
	var req client.OrgRequest
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
	c.JSON(http.StatusCreated, toOrg(o))
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
	out := client.OrgsResponse{Orgs: []client.Org{}}
	for _, o := range list {
		if authz.Visible(p, o.Name) {
			out.Orgs = append(out.Orgs, toOrg(o))
		}
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) getOrg(c *gin.Context) {
	org := c.Param(paramOrg)
	o, err := s.Orgs.Get(c.Request.Context(), org)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toOrg(o))
}

func (s *server) patchOrg(c *gin.Context) {
	var req client.OrgPatch
	org := c.Param(paramOrg)
	if !bind(c, &req) {
		return
	}
	o, err := s.Orgs.SetRepoAccess(c.Request.Context(), org, req.RepoAccess)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toOrg(o))
}

func (s *server) deleteOrg(c *gin.Context) {
	org := c.Param(paramOrg)
	if err := s.Orgs.Delete(c.Request.Context(), org); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.DeletedResponse{Deleted: "org:" + org})
}

func (s *server) listMembers(c *gin.Context) {
	org := c.Param(paramOrg)
	members, err := s.Orgs.Members(c.Request.Context(), org)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.MembersResponse{Members: toMembers(members)})
}

func (s *server) setMember(c *gin.Context) {
	var req client.RoleBody
	org := c.Param(paramOrg)
	if !bind(c, &req) {
		return
	}
	m, err := s.Orgs.SetMember(c.Request.Context(), org, c.Param("email"), req.Role)
	if err != nil {
		writeError(c, err)
		return
	}
	auditTarget(c, m.Subject, org)
	c.JSON(http.StatusOK, toMember(m))
}

func (s *server) removeMember(c *gin.Context) {
	org := c.Param(paramOrg)
	if err := s.Orgs.RemoveMember(c.Request.Context(), org, c.Param("email")); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.DeletedResponse{Deleted: "user:" + c.Param("email")})
}

func (s *server) listTeams(c *gin.Context) {
	org := c.Param(paramOrg)
	teams, err := s.Orgs.Teams(c.Request.Context(), org)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.TeamsResponse{Teams: teams})
}

func (s *server) putTeam(c *gin.Context) {
	org, team := c.Param(paramOrg), c.Param(paramTeam)
	if err := s.Orgs.CreateTeam(c.Request.Context(), org, team); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.TeamResponse{Team: "team:" + org + "/" + team})
}

func (s *server) deleteTeam(c *gin.Context) {
	org, team := c.Param(paramOrg), c.Param(paramTeam)
	if err := s.Orgs.DeleteTeam(c.Request.Context(), org, team); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.DeletedResponse{Deleted: "team:" + org + "/" + team})
}

func (s *server) putTeamMember(c *gin.Context) {
	org, team := c.Param(paramOrg), c.Param(paramTeam)
	m, err := s.Orgs.AddTeamMember(c.Request.Context(), org, team, pathParam(c, "subject"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.SubjectResponse{Subject: m})
}

func (s *server) deleteTeamMember(c *gin.Context) {
	org, team := c.Param(paramOrg), c.Param(paramTeam)
	if err := s.Orgs.RemoveTeamMember(c.Request.Context(), org, team, pathParam(c, "subject")); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.DeletedResponse{Deleted: pathParam(c, "subject")})
}

func (s *server) createAPIKey(c *gin.Context) {
	var req client.APIKeyRequest
	org := c.Param(paramOrg)
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
	c.JSON(http.StatusCreated, toNewKey(k))
}

func (s *server) listAPIKeys(c *gin.Context) {
	org := c.Param(paramOrg)
	keys, err := s.Orgs.APIKeys(c.Request.Context(), org)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.APIKeysResponse{Keys: toKeyInfos(keys)})
}

func (s *server) deleteAPIKey(c *gin.Context) {
	org, name := c.Param(paramOrg), c.Param("name")
	if err := s.Orgs.DeleteAPIKey(c.Request.Context(), org, name); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.DeletedResponse{Deleted: "sa:" + name + "@" + org})
}
