package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/store"
)

// AuditLog is the append-only audit log (AU1).
type AuditLog interface {
	// AppendAudit appends an event; the log cannot be changed afterwards.
	AppendAudit(ctx context.Context, e store.AuditEvent) error
	// ListAudit returns the events matching f, oldest first.
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

const (
	ctxAuditTarget  = "gatehouse.audit.target"
	ctxAuditOrg     = "gatehouse.audit.org"
	ctxAuditDetails = "gatehouse.audit.details"
)

// auditDetail adds a detail to the audit event of the request (what was asked, what was
// given); never a secret.
func auditDetail(c *gin.Context, key, value string) {
	m, _ := c.Get(ctxAuditDetails)
	details, _ := m.(map[string]string)
	if details == nil {
		details = map[string]string{}
		c.Set(ctxAuditDetails, details)
	}
	details[key] = value
}

// auditTarget names what a handler acted on (a typed name or a token id, never a
// secret) and its org, for the audit event of the request.
func auditTarget(c *gin.Context, target, org string) {
	c.Set(ctxAuditTarget, target)
	c.Set(ctxAuditOrg, org)
}

// outcome classifies a finished request for the audit log.
func outcome(status int) string {
	switch {
	case status < 300:
		return "ok"
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests:
		return "denied"
	case status < 500:
		return "failed"
	}
	return "error"
}

// audited appends one event for every request of a security-relevant route, whatever its
// outcome, with the actor, action, target, time and outcome (AU1).
func (s *server) audited(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if s.Audit == nil {
			return
		}
		actor := "anonymous"
		if p, ok := c.Get(ctxPrincipal); ok {
			actor = principal(c).Subject
			_ = p
		}
		target := c.GetString(ctxAuditTarget)
		if target == "" {
			target = c.Request.URL.Path
		}
		org := c.GetString(ctxAuditOrg)
		if org == "" {
			org = c.Param(paramOrg)
		}
		status := c.Writer.Status()
		e := store.AuditEvent{Time: time.Now().UTC(), Actor: actor, Action: action, Target: target, Org: org,
			Outcome: outcome(status), Details: map[string]string{"status": strconv.Itoa(status), "method": c.Request.Method}}
		if id, ok := c.Writer.Header()["X-Request-Id"]; ok && len(id) > 0 {
			e.Details["request_id"] = id[0]
		}
		if m, ok := c.Get(ctxAuditDetails); ok {
			for k, v := range m.(map[string]string) {
				if _, taken := e.Details[k]; !taken {
					e.Details[k] = v
				}
			}
		}
		if err := s.Audit.AppendAudit(context.WithoutCancel(c.Request.Context()), e); err != nil {
			logger(c).Error("audit append failed", "action", action, "err", err)
		}
	}
}

// listAudit: org admins see their org's events, platform admins everything (AU1).
func (s *server) listAudit(c *gin.Context) {
	f := store.AuditFilter{Org: c.Query(paramOrg), Actor: c.Query("actor")}
	if since := c.Query("since"); since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			writeError(c, apperr.InvalidField("since", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"))
			return
		}
		f.Since = t
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxAuditLimit {
			writeError(c, apperr.InvalidField("limit", "must be 1 to %d", store.MaxAuditLimit))
			return
		}
		f.Limit = n
	}
	events, err := s.Audit.ListAudit(c.Request.Context(), f)
	if err != nil {
		writeError(c, err)
		return
	}
	out := client.AuditResponse{Events: make([]client.AuditEvent, 0, len(events))}
	for _, e := range events {
		out.Events = append(out.Events, client.AuditEvent{Time: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target, Org: e.Org, Outcome: e.Outcome, Details: e.Details})
	}
	c.JSON(http.StatusOK, out)
}
