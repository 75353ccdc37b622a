package api

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

func (s *server) whoami(c *gin.Context) {
	p := principal(c)
	ctx := c.Request.Context()
	sub := subjectOf(p)
	orgs, err := s.Engine.LookupResources(ctx, sub, schema.PermRead, schema.TypeOrg, relations.Consistency{})
	if err != nil {
		writeError(c, err)
		return
	}
	admin, err := s.Authz.IsPlatformAdmin(ctx, p)
	if err != nil {
		writeError(c, err)
		return
	}
	out := client.WhoamiResponse{Subject: p.Subject, Orgs: []string{}, PlatformAdmin: admin,
		Token: client.WhoamiToken{ID: p.TokenID, ExpiresAt: p.ExpiresAt, Scoped: p.Scoped(), Role: p.Role, ParentID: p.ParentID}}
	for _, o := range orgs {
		if authz.Visible(p, o.ID) {
			out.Orgs = append(out.Orgs, o.ID)
		}
	}
	slices.Sort(out.Orgs)
	c.JSON(http.StatusOK, out)
}

// parseMint validates a mint request's own fields: the subject, and role or grants.
func (s *server) parseMint(c *gin.Context, req client.MintRequest) (authz.MintInput, error) {
	in := authz.MintInput{Role: req.Role, Grants: toGrants(req.Grants), TTL: req.TTL.D()}
	if req.Subject != "" {
		sub, err := identity.ParseSubject("subject", req.Subject)
		if err != nil {
			return in, err
		}
		if (sub.Type != schema.TypeUser && sub.Type != schema.TypeRobot) || sub.Relation != "" {
			return in, apperr.InvalidField("subject", "tokens are minted for user:<email> or robot:<name>")
		}
		if sub.Type == schema.TypeRobot {
			if _, err := s.Platform.Robot(c.Request.Context(), sub.ID); err != nil {
				return in, err
			}
		}
		in.Subject = sub
	}
	switch {
	case req.Role != "" && req.Grants != nil:
		return in, apperr.InvalidField("role", "give either a role or grants, not both")
	case req.Grants != nil && len(req.Grants) == 0:
		return in, apperr.InvalidField("grants", "must name at least one grant; omit it for an unscoped token")
	case req.Role != "":
		var err error
		in.Grants, err = tokens.ResolveRole(req.Role)
		return in, err
	}
	return in, nil
}

func (s *server) mintToken(c *gin.Context) {
	var req client.MintRequest
	if !bind(c, &req) {
		return
	}
	ctx := c.Request.Context()
	in, err := s.parseMint(c, req)
	if err != nil {
		writeError(c, err)
		return
	}
	plan, err := s.Authz.Mint(ctx, principal(c), in)
	if err != nil {
		writeError(c, err)
		return
	}
	m, err := s.Tokens.Mint(ctx, plan.Request)
	if err != nil {
		writeError(c, err)
		return
	}
	m.Capped = m.Capped || plan.Capped
	logger(c).Info("token minted", "token_id", m.ID, "for", m.Subject, "scoped", plan.Request.Grants != nil, "capped", m.Capped)
	auditTarget(c, "token:"+m.ID, "")
	c.JSON(http.StatusCreated, minted(m))
}

func (s *server) listTokens(c *gin.Context) {
	list, err := s.Tokens.List(c.Request.Context(), principal(c).Subject)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.TokensResponse{Tokens: toTokenInfos(list)})
}

func (s *server) revokeToken(c *gin.Context) {
	id := pathParam(c, "id")
	owner, err := s.Authz.RevokeOwner(c.Request.Context(), principal(c))
	if err != nil {
		writeError(c, err)
		return
	}
	if err := s.Tokens.Revoke(c.Request.Context(), owner, id); err != nil {
		writeError(c, err)
		return
	}
	logger(c).Info("token revoked", "token_id", id)
	auditTarget(c, "token:"+id, "")
	c.JSON(http.StatusOK, client.RevokeResponse{ID: id, Revoked: true})
}
