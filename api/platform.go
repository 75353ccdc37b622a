package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

const readyTimeout = 2 * time.Second

var appNotFound = apperr.Error{Kind: apperr.NotFound, Code: "not_found", Message: "no such route"}

func (s *server) activate(c *gin.Context) {
	var req client.ActivateRequest
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
	resp := client.ActivateResponse{Subject: a.Subject, Token: a.Token}
	if !a.ExpiresAt.IsZero() {
		resp.ExpiresAt = &a.ExpiresAt
	}
	logger(c).Info("platform activated", "subject", a.Subject)
	c.JSON(http.StatusCreated, resp)
}

func (s *server) deactivate(c *gin.Context) {
	var req client.DeactivateRequest
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
	c.JSON(http.StatusOK, client.StatusResponse{Status: "deactivated"})
}

func (s *server) listAdmins(c *gin.Context) {
	admins, err := s.Platform.Admins(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.AdminsResponse{Admins: admins})
}

func (s *server) addAdmin(c *gin.Context) {
	sub, err := s.Platform.AddAdmin(c.Request.Context(), pathParam(c, "subject"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.SubjectResponse{Subject: sub})
}

func (s *server) removeAdmin(c *gin.Context) {
	subject := pathParam(c, "subject")
	if err := s.Platform.RemoveAdmin(c.Request.Context(), subject); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.SubjectResponse{Subject: subject})
}

func (s *server) getMode(c *gin.Context) {
	on, err := s.Platform.AdminOnly(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.ModeBody{AdminOnly: &on})
}

func (s *server) setMode(c *gin.Context) {
	var req client.ModeBody
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
	var req client.RobotRequest
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
	out := client.RobotsResponse{Robots: []client.RobotInfo{}}
	for _, r := range robots {
		out.Robots = append(out.Robots, client.RobotInfo{Subject: "robot:" + r.Name, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy})
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) deleteRobot(c *gin.Context) {
	name := pathParam(c, "name")
	if err := s.Platform.DeleteRobot(c.Request.Context(), name); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.SubjectResponse{Subject: "robot:" + name})
}
