package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

const readyTimeout = 2 * time.Second

var appNotFound = apperr.Error{Kind: apperr.NotFound, Code: "not_found", Message: "no such route"}

type statusResponse struct {
	Status string `json:"status"`
}

type versionResponse struct {
	Version string `json:"version"`
}

type activateRequest struct {
	InitialAdmin string   `json:"initial_admin"`
	TTL          Duration `json:"ttl,omitempty"`
}

type activateResponse struct {
	Subject   string     `json:"subject"`
	Token     string     `json:"token,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

type deactivateRequest struct {
	Confirm string `json:"confirm"`
}

type adminsResponse struct {
	Admins []string `json:"admins"`
}

type subjectResponse struct {
	Subject string `json:"subject"`
}

type modeBody struct {
	AdminOnly *bool `json:"admin_only"`
}

type robotRequest struct {
	Name string   `json:"name"`
	TTL  Duration `json:"ttl,omitempty"`
}

type robotInfo struct {
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

type robotsResponse struct {
	Robots []robotInfo `json:"robots"`
}

type mintResponse struct {
	ID        string    `json:"id"`
	Subject   string    `json:"subject"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	// Capped: expires_at was cut to the expiry of the token that minted this one (a
	// derived token never outlives its parent).
	Capped bool `json:"capped"`
}

func minted(m tokens.Minted) mintResponse {
	return mintResponse{ID: m.ID, Subject: m.Subject, Token: m.Token, ExpiresAt: m.ExpiresAt, Capped: m.Capped}
}

func (s *server) activate(c *gin.Context) {
	var req activateRequest
	if !bind(c, &req) {
		return
	}
	if req.InitialAdmin == "" {
		writeError(c, apperr.InvalidField("initial_admin", "is required: robot:<name> or user:<email>"))
		return
	}
	a, err := s.Platform.Activate(c.Request.Context(), req.InitialAdmin, req.TTL.D())
	if err != nil {
		writeError(c, err)
		return
	}
	resp := activateResponse{Subject: a.Subject, Token: a.Token}
	if !a.ExpiresAt.IsZero() {
		resp.ExpiresAt = &a.ExpiresAt
	}
	logger(c).Info("platform activated", "admin", a.Subject)
	c.JSON(http.StatusCreated, resp)
}

func (s *server) deactivate(c *gin.Context) {
	var req deactivateRequest
	if !bind(c, &req) {
		return
	}
	if req.Confirm != "deactivate" {
		writeError(c, apperr.InvalidField("confirm", `must be "deactivate": this deletes every relationship, token and admin`))
		return
	}
	if err := s.Platform.Deactivate(c.Request.Context(), s.ResourceTypes); err != nil {
		writeError(c, err)
		return
	}
	logger(c).Warn("platform deactivated", "by", principal(c).Subject)
	c.JSON(http.StatusOK, statusResponse{Status: "deactivated"})
}

func (s *server) listAdmins(c *gin.Context) {
	admins, err := s.Platform.Admins(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, adminsResponse{Admins: admins})
}

func (s *server) addAdmin(c *gin.Context) {
	sub, err := s.Platform.AddAdmin(c.Request.Context(), pathParam(c, "subject"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, subjectResponse{Subject: sub})
}

func (s *server) removeAdmin(c *gin.Context) {
	subject := pathParam(c, "subject")
	if err := s.Platform.RemoveAdmin(c.Request.Context(), subject); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, subjectResponse{Subject: subject})
}

func (s *server) getMode(c *gin.Context) {
	on, err := s.Platform.AdminOnly(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, modeBody{AdminOnly: &on})
}

func (s *server) setMode(c *gin.Context) {
	var req modeBody
	if !bind(c, &req) {
		return
	}
	if req.AdminOnly == nil {
		writeError(c, apperr.InvalidField("admin_only", "is required: true or false"))
		return
	}
	if err := s.Platform.SetAdminOnly(c.Request.Context(), *req.AdminOnly); err != nil {
		writeError(c, err)
		return
	}
	logger(c).Warn("admin-only mode switched", "admin_only", *req.AdminOnly, "by", principal(c).Subject)
	c.JSON(http.StatusOK, req)
}

func (s *server) createRobot(c *gin.Context) {
	var req robotRequest
	if !bind(c, &req) {
		return
	}
	if req.Name == "" {
		writeError(c, apperr.InvalidField("name", "is required"))
		return
	}
	m, err := s.Platform.CreateRobot(c.Request.Context(), req.Name, principal(c).Subject, req.TTL.D())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, minted(m))
}

func (s *server) listRobots(c *gin.Context) {
	robots, err := s.Platform.Robots(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	out := robotsResponse{Robots: []robotInfo{}}
	for _, r := range robots {
		out.Robots = append(out.Robots, robotInfo{Subject: "robot:" + r.Name, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy})
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) deleteRobot(c *gin.Context) {
	name := pathParam(c, "name")
	if err := s.Platform.DeleteRobot(c.Request.Context(), name); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, subjectResponse{Subject: "robot:" + name})
}
