package api

import (
	"fmt"
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

// maxBulk bounds a bulk check.
const maxBulk = 1000

// parseCheck validates a check and resolves its subject: the caller when none is given.
// self reports whether the subject is the caller, whose token grants then also apply.
func (s *server) parseCheck(c *gin.Context, p tokens.Principal, req client.CheckRequest, prefix string) (cr relations.CheckRequest, self bool, err error) {
	res, err := identity.ParseObject(prefix+"resource", req.Resource)
	if err != nil {
		return cr, false, err
	}
	if err := authz.CheckPermission(prefix+"permission", res.Type, req.Permission); err != nil {
		return cr, false, err
	}
	sub, self, err := s.resolveSubject(c, p, prefix+"subject", req.Subject, res.Type, identity.OrgOf(res))
	if err != nil {
		return cr, false, err
	}
	return relations.CheckRequest{Resource: res, Permission: req.Permission, Subject: sub,
		Consistency: relations.Consistency{AtLeastAsFresh: req.AtLeastAsFresh}}, self, nil
}

// resolveSubject parses the subject of a question (the caller when empty) and asks
// authz whether the caller may ask about it.
func (s *server) resolveSubject(c *gin.Context, p tokens.Principal, field, subject, typ, org string) (relations.Subject, bool, error) {
	caller := subjectOf(p)
	if subject == "" {
		return caller, true, nil
	}
	sub, err := identity.ParseSubject(field, subject)
	if err != nil {
		return sub, false, err
	}
	if sub == caller {
		return sub, true, nil
	}
	return sub, false, s.Authz.MayInspect(c.Request.Context(), p, typ, org)
}

// tokenAllows applies the caller's token grants to a check about the caller itself (T3).
func tokenAllows(p tokens.Principal, self bool, cr relations.CheckRequest) bool {
	return authz.CheckGrant(p, self, cr.Resource, cr.Permission)
}

// bindCheck reads and validates the one check of a check or explain request; on false
// the answer has been written.
func (s *server) bindCheck(c *gin.Context) (cr relations.CheckRequest, self, ok bool) {
	var req client.CheckRequest
	if !bind(c, &req) {
		return cr, false, false
	}
	cr, self, err := s.parseCheck(c, principal(c), req, "")
	if err != nil {
		writeError(c, err)
		return cr, false, false
	}
	return cr, self, true
}

func (s *server) check(c *gin.Context) {
	cr, self, ok := s.bindCheck(c)
	if !ok {
		return
	}
	res, err := s.Engine.Check(c.Request.Context(), cr)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.CheckResponse{Allowed: res.Allowed && tokenAllows(principal(c), self, cr), CheckedAt: res.CheckedAt})
}

func (s *server) checkBulk(c *gin.Context) {
	var req client.BulkRequest
	if !bind(c, &req) {
		return
	}
	if len(req.Items) == 0 || len(req.Items) > maxBulk {
		writeError(c, apperr.InvalidField("items", "must hold 1 to %d checks", maxBulk))
		return
	}
	p := principal(c)
	results := make([]client.BulkResult, len(req.Items))
	var crs []relations.CheckRequest
	var idx []int
	var selfs []bool
	for i, item := range req.Items {
		cr, self, err := s.parseCheck(c, p, item, fmt.Sprintf("items[%d].", i))
		if err != nil {
			if apperr.KindOf(err) == apperr.Internal || apperr.KindOf(err) == apperr.Unavailable {
				writeError(c, err)
				return
			}
			ae := toAppErr(err)
			results[i].Error = &client.ErrorDetail{Code: ae.Code, Message: ae.Message, Field: ae.Field}
			continue
		}
		crs, idx, selfs = append(crs, cr), append(idx, i), append(selfs, self)
	}
	if len(crs) > 0 {
		answers, err := s.Engine.CheckBulk(c.Request.Context(), crs)
		if err != nil {
			writeError(c, err)
			return
		}
		for j, a := range answers {
			i := idx[j]
			if a.Err != nil {
				ae := toAppErr(a.Err)
				results[i].Error = &client.ErrorDetail{Code: ae.Code, Message: ae.Message}
				continue
			}
			results[i].Allowed = a.Allowed && tokenAllows(p, selfs[j], crs[j])
		}
	}
	c.JSON(http.StatusOK, client.BulkResponse{Results: results})
}

func (s *server) lookupResources(c *gin.Context) {
	var req client.LookupResourcesRequest
	if !bind(c, &req) {
		return
	}
	p := principal(c)
	if err := authz.CheckResourceType("resource_type", req.ResourceType); err != nil {
		writeError(c, err)
		return
	}
	if err := authz.CheckPermission("permission", req.ResourceType, req.Permission); err != nil {
		writeError(c, err)
		return
	}
	sub, self, err := s.resolveSubject(c, p, "subject", req.Subject, req.ResourceType, "*")
	if err != nil {
		writeError(c, err)
		return
	}
	objs, err := s.Engine.LookupResources(c.Request.Context(), sub, req.Permission, req.ResourceType, relations.Consistency{AtLeastAsFresh: req.AtLeastAsFresh})
	if err != nil {
		writeError(c, err)
		return
	}
	out := client.LookupResourcesResponse{Resources: []string{}}
	for _, o := range objs {
		if tokenAllows(p, self, relations.CheckRequest{Resource: o, Permission: req.Permission}) {
			out.Resources = append(out.Resources, o.String())
		}
	}
	slices.Sort(out.Resources)
	c.JSON(http.StatusOK, out)
}

func (s *server) lookupSubjects(c *gin.Context) {
	var req client.LookupSubjectsRequest
	if !bind(c, &req) {
		return
	}
	p := principal(c)
	res, err := identity.ParseObject("resource", req.Resource)
	if err != nil {
		writeError(c, err)
		return
	}
	if err := authz.CheckPermission("permission", res.Type, req.Permission); err != nil {
		writeError(c, err)
		return
	}
	if req.SubjectType == "" {
		req.SubjectType = schema.TypeUser
	}
	if !slices.Contains(identity.SubjectTypes, req.SubjectType) {
		writeError(c, apperr.InvalidField("subject_type", "%q is not a subject type (known: %v)", req.SubjectType, identity.SubjectTypes))
		return
	}
	if err := s.Authz.MayInspect(c.Request.Context(), p, res.Type, identity.OrgOf(res)); err != nil {
		writeError(c, err)
		return
	}
	subs, err := s.Engine.LookupSubjects(c.Request.Context(), res, req.Permission, req.SubjectType, relations.Consistency{AtLeastAsFresh: req.AtLeastAsFresh})
	if err != nil {
		writeError(c, err)
		return
	}
	out := client.LookupSubjectsResponse{Subjects: []string{}}
	for _, o := range subs {
		out.Subjects = append(out.Subjects, o.String())
	}
	slices.Sort(out.Subjects)
	c.JSON(http.StatusOK, out)
}

func (s *server) explain(c *gin.Context) {
	cr, self, ok := s.bindCheck(c)
	if !ok {
		return
	}
	ex, err := s.Engine.Explain(c.Request.Context(), cr)
	if err != nil {
		writeError(c, err)
		return
	}
	out := client.ExplainResponse{Allowed: ex.Allowed && tokenAllows(principal(c), self, cr), CheckedAt: ex.CheckedAt, Paths: [][]string{}}
	if out.Allowed {
		for _, path := range ex.Paths {
			strs := make([]string, 0, len(path))
			for _, r := range path {
				strs = append(strs, r.String())
			}
			out.Paths = append(out.Paths, strs)
		}
	}
	c.JSON(http.StatusOK, out)
}
