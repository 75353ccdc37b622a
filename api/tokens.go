package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

type whoamiToken struct {
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
	Scoped    bool      `json:"scoped"`
	Role      string    `json:"role,omitempty"`
}

type whoamiResponse struct {
	Subject       string      `json:"subject"`
	Orgs          []string    `json:"orgs"`
	PlatformAdmin bool        `json:"platform_admin"`
	Token         whoamiToken `json:"token"`
}

type mintRequest struct {
	Subject string         `json:"subject,omitempty"`
	Role    string         `json:"role,omitempty"`
	Grants  []tokens.Grant `json:"grants,omitempty"`
	TTL     Duration       `json:"ttl,omitempty"`
}

type tokensResponse struct {
	Tokens []tokens.Info `json:"tokens"`
}

type revokeResponse struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
}

func (s *server) whoami(c *gin.Context) {
	p := principal(c)
	ctx := c.Request.Context()
	sub := subjectOf(p)
	orgs, err := s.Engine.LookupResources(ctx, sub, "read", "org", relations.Consistency{})
	if err != nil {
		writeError(c, err)
		return
	}
	admin, err := s.Platform.IsAdmin(ctx, sub)
	if err != nil {
		writeError(c, err)
		return
	}
	out := whoamiResponse{Subject: p.Subject, Orgs: []string{}, PlatformAdmin: admin,
		Token: whoamiToken{ID: p.TokenID, ExpiresAt: p.ExpiresAt, Scoped: p.Scoped(), Role: p.Role}}
	for _, o := range orgs {
		if p.Allows("read", "org", o.ID) {
			out.Orgs = append(out.Orgs, o.ID)
		}
	}
	slices.Sort(out.Orgs)
	c.JSON(http.StatusOK, out)
}

// covered reports whether every function x resource x org that g allows is also allowed
// by the caller's token, so a minted token never exceeds the one that minted it.
func covered(p tokens.Principal, g tokens.Grant) bool {
	if !p.Scoped() {
		return true
	}
	for _, f := range g.Functions {
		for _, r := range g.Resources {
			for _, o := range g.Orgs {
				if !p.Allows(f, r, o) {
					return false
				}
			}
		}
	}
	return true
}

func (s *server) mintToken(c *gin.Context) {
	var req mintRequest
	if !bind(c, &req) {
		return
	}
	ctx := c.Request.Context()
	p := principal(c)
	subject := p.Subject
	if req.Subject != "" {
		sub, err := identity.ParseSubject("subject", req.Subject)
		if err != nil {
			writeError(c, err)
			return
		}
		if (sub.Type != "user" && sub.Type != "robot") || sub.Relation != "" {
			writeError(c, apperr.InvalidField("subject", "tokens are minted for user:<email> or robot:<name>"))
			return
		}
		if sub.Type == "robot" {
			if _, err := s.Platform.Robot(ctx, sub.ID); err != nil {
				writeError(c, err)
				return
			}
		}
		subject = sub.String()
	}
	if req.Role != "" && req.Grants != nil {
		writeError(c, apperr.InvalidField("role", "give either a role or grants, not both"))
		return
	}
	grants := req.Grants
	if req.Role != "" {
		var err error
		if grants, err = tokens.ResolveRole(req.Role); err != nil {
			writeError(c, err)
			return
		}
	}
	if req.Grants != nil && len(req.Grants) == 0 {
		writeError(c, apperr.InvalidField("grants", "must name at least one grant; omit it for an unscoped token"))
		return
	}
	for i, g := range grants {
		if err := g.Validate(); err != nil {
			writeError(c, apperr.InvalidField("grants", "grant %d: %s", i, err))
			return
		}
	}
	callerAdmin, err := s.Platform.IsAdmin(ctx, subjectOf(p))
	if err != nil {
		writeError(c, err)
		return
	}
	callerAdmin = callerAdmin && p.Allows("admin", "platform", "")
	if subject != p.Subject && !callerAdmin {
		writeError(c, apperr.Forbid("only platform admins mint tokens for other subjects"))
		return
	}
	if grants == nil && p.Scoped() && subject == p.Subject {
		grants = p.Grants // a token minted by a scoped token stays within its scope
	}
	for i, g := range grants {
		if !covered(p, g) {
			writeError(c, apperr.InvalidField("grants", "grant %d exceeds the grants of the token making the request", i))
			return
		}
		if slices.Contains(g.Functions, "check") && !callerAdmin {
			writeError(c, apperr.Forbid("only platform admins mint tokens with the check function"))
			return
		}
	}
	ownerAdmin := callerAdmin
	if subject != p.Subject {
		sub, _ := relations.ParseSubject(subject)
		if ownerAdmin, err = s.Platform.IsAdmin(ctx, sub); err != nil {
			writeError(c, err)
			return
		}
	}
	adminPower := ownerAdmin
	if grants != nil {
		adminPower = false
		for _, g := range grants {
			adminPower = adminPower || (ownerAdmin && g.AdminPower())
		}
	}
	kind := "user"
	if grants != nil {
		kind = "scoped"
	} else if sub, _ := relations.ParseSubject(subject); sub.Type == "robot" {
		kind = "robot"
	}
	m, err := s.Tokens.Mint(ctx, tokens.MintRequest{Subject: subject, Kind: kind, Role: req.Role, Grants: grants, TTL: req.TTL.D(), AdminPower: adminPower})
	if err != nil {
		writeError(c, err)
		return
	}
	logger(c).Info("token minted", "token_id", m.ID, "for", subject, "scoped", grants != nil)
	auditTarget(c, "token:"+m.ID, "")
	c.JSON(http.StatusCreated, minted(m))
}

func (s *server) listTokens(c *gin.Context) {
	list, err := s.Tokens.List(c.Request.Context(), principal(c).Subject)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, tokensResponse{Tokens: list})
}

func (s *server) revokeToken(c *gin.Context) {
	p := principal(c)
	id := pathParam(c, "id")
	owner := p.Subject
	if admin, err := s.Platform.IsAdmin(c.Request.Context(), subjectOf(p)); err != nil {
		writeError(c, err)
		return
	} else if admin && p.Allows("admin", "platform", "") {
		owner = "" // platform admins may revoke any token
	}
	if err := s.Tokens.Revoke(c.Request.Context(), owner, id); err != nil {
		writeError(c, err)
		return
	}
	logger(c).Info("token revoked", "token_id", id)
	auditTarget(c, "token:"+id, "")
	c.JSON(http.StatusOK, revokeResponse{ID: id, Revoked: true})
}
