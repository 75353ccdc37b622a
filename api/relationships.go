package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/relations/validation"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// maxUpdates bounds one relationship write.
const maxUpdates = relations.MaxUpdatesPerWrite

// parseFilter reads "type" or "type:id" for resource and subject (a subject may end in
// "#relation"). The resource part may be empty when the subject is given.
func parseFilter(prefix string, fb client.Filter) (relations.Filter, error) {
	var f relations.Filter
	if fb.Resource != "" {
		if strings.Contains(fb.Resource, ":") {
			o, err := identity.ParseObject(prefix+"resource", fb.Resource)
			if err != nil {
				return f, err
			}
			f.ResourceType, f.ResourceID = o.Type, o.ID
		} else {
			f.ResourceType = fb.Resource
		}
	}
	f.Relation = fb.Relation
	if fb.Subject != "" {
		if strings.Contains(fb.Subject, ":") {
			sub, err := identity.ParseSubject(prefix+"subject", fb.Subject)
			if err != nil {
				return f, err
			}
			f.SubjectType, f.SubjectID, f.SubjectRelation = sub.Type, sub.ID, sub.Relation
		} else {
			f.SubjectType = fb.Subject
		}
	}
	return f, nil
}

func (s *server) knownType(field, typ string) error {
	for _, t := range s.ResourceTypes {
		if t == typ {
			return nil
		}
	}
	return apperr.InvalidField(field, "%q is not a type (known: %v)", typ, s.ResourceTypes)
}

func (s *server) readRelationships(c *gin.Context) {
	f, err := parseFilter("", client.Filter{Resource: c.Query("resource"), Relation: c.Query("relation"), Subject: c.Query("subject")})
	if err != nil {
		writeError(c, err)
		return
	}
	types := s.ResourceTypes
	if f.ResourceType != "" {
		if err := s.knownType("resource", f.ResourceType); err != nil {
			writeError(c, err)
			return
		}
		types = []string{f.ResourceType}
	}
	out := client.RelationshipsResponse{Relationships: []string{}}
	for _, t := range types {
		f.ResourceType = t
		rels, err := s.Engine.Read(c.Request.Context(), f, relations.Consistency{Full: true})
		if errors.Is(err, relations.ErrInvalid) && len(types) > 1 {
			continue // the relation or subject type does not exist on this type
		}
		if err != nil {
			writeError(c, err)
			return
		}
		for _, r := range rels {
			out.Relationships = append(out.Relationships, r.String())
		}
	}
	c.JSON(http.StatusOK, out)
}

// parseRelationship parses and normalizes one relationship string.
func parseRelationship(field, s string) (relations.Relationship, error) {
	r, err := relations.ParseRelationship(s)
	if err != nil {
		return r, apperr.InvalidField(field, "%q is not a relationship like repo:acme/x#reader@user:bob@example.com", s)
	}
	res, err := identity.ParseObject(field, r.Resource.String())
	if err != nil {
		return r, err
	}
	r.Resource = res
	if r.Subject.ID != "*" {
		sub, err := identity.ParseSubject(field, r.Subject.String())
		if err != nil {
			return r, err
		}
		r.Subject = sub
	}
	wildcard := r.Subject.ID == "*"
	if !schema.RelationHolds(r.Resource.Type, r.Relation, r.Subject.Type, r.Subject.Relation, wildcard) {
		return r, apperr.InvalidField(field, "%s: the schema has no relation %s#%s holding %s (GET /api/v1/schema)",
			s, r.Resource.Type, r.Relation, schema.SubjectKind(r.Subject.Type, r.Subject.Relation, wildcard))
	}
	return r, nil
}

func (s *server) writeRelationships(c *gin.Context) {
	var req client.WriteRequest
	if !bind(c, &req) {
		return
	}
	if len(req.Updates) == 0 || len(req.Updates) > maxUpdates {
		writeError(c, apperr.InvalidField("updates", "must hold 1 to %d updates", maxUpdates))
		return
	}
	updates := make([]relations.Update, 0, len(req.Updates))
	for i, u := range req.Updates {
		op := relations.Operation(u.Operation)
		if op != relations.OpTouch && op != relations.OpCreate && op != relations.OpDelete {
			writeError(c, apperr.InvalidField(fmt.Sprintf("updates[%d].operation", i), "%q is not touch, create or delete", u.Operation))
			return
		}
		r, err := parseRelationship(fmt.Sprintf("updates[%d].relationship", i), u.Relationship)
		if err != nil {
			writeError(c, err)
			return
		}
		updates = append(updates, relations.Update{Operation: op, Relationship: r})
	}
	var pres []relations.Precondition
	for i, pc := range req.Preconditions {
		field := fmt.Sprintf("preconditions[%d]", i)
		var must bool
		switch pc.Operation {
		case "must_match":
			must = true
		case "must_not_match":
		default:
			writeError(c, apperr.InvalidField(field+".operation", "%q is not must_match or must_not_match", pc.Operation))
			return
		}
		f, err := parseFilter(field+".filter.", pc.Filter)
		if err != nil {
			writeError(c, err)
			return
		}
		if f.ResourceType == "" {
			writeError(c, apperr.InvalidField(field+".filter.resource", "is required"))
			return
		}
		pres = append(pres, relations.Precondition{Filter: f, MustExist: must})
	}
	auditUpdates(c, updates)
	token, err := s.Engine.Write(guard.NamingUpdates(c.Request.Context(), "updates"), updates, pres)
	if err != nil {
		if errors.Is(err, relations.ErrInvalid) {
			if i := blame(err.Error(), updates); i >= 0 {
				err = apperr.InvalidField(fmt.Sprintf("updates[%d].relationship", i), "%s", strings.TrimPrefix(err.Error(), "invalid: "))
			}
		}
		writeError(c, err)
		return
	}
	logger(c).Info("relationships written", "updates", len(updates), "by", principal(c).Subject)
	c.JSON(http.StatusOK, client.WriteResponse{WrittenAt: token})
}

// auditUpdates names in the audit event what a relationships write asked for (AU1): its
// target is the first update's resource, and details.updates lists every update as
// "<operation> <relationship>" (relationships hold no secrets), clipped to auditMaxUpdates.
func auditUpdates(c *gin.Context, updates []relations.Update) {
	if len(updates) == 0 {
		return
	}
	auditTarget(c, updates[0].Relationship.Resource.String(), identity.OrgOf(updates[0].Relationship.Resource))
	lines := make([]string, 0, min(len(updates), auditMaxUpdates))
	for _, u := range updates[:min(len(updates), auditMaxUpdates)] {
		lines = append(lines, string(u.Operation)+" "+u.Relationship.String())
	}
	if len(updates) > auditMaxUpdates {
		lines = append(lines, fmt.Sprintf("... and %d more", len(updates)-auditMaxUpdates))
	}
	auditDetail(c, "updates", strings.Join(lines, "; "))
}

// auditMaxUpdates is how many updates one audit event lists.
const auditMaxUpdates = 50

func (s *server) exportRelationships(c *gin.Context) {
	c.Header("Content-Type", "application/x-ndjson")
	c.Status(http.StatusOK)
	w := bufio.NewWriter(c.Writer)
	enc := json.NewEncoder(w)
	err := s.Engine.Export(c.Request.Context(), func(r relations.Relationship) error {
		return enc.Encode(client.ExportLine{Relationship: r.String()})
	})
	if err != nil {
		// Headers are gone: end the stream with an error line the importer refuses.
		logger(c).Error("export failed", "err", err)
		_ = enc.Encode(map[string]string{"error": "export interrupted; the output is incomplete"})
	}
	_ = w.Flush()
}

func (s *server) importRelationships(c *gin.Context) {
	var rels []relations.Relationship
	var lines []int // lines[i]: the line rels[i] was read from
	sc := bufio.NewScanner(c.Request.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var l client.ExportLine
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil || l.Relationship == "" {
			writeError(c, apperr.InvalidField(fmt.Sprintf("line %d", line), `must be {"relationship":"..."}`))
			return
		}
		r, err := parseRelationship(fmt.Sprintf("line %d", line), l.Relationship)
		if err != nil {
			writeError(c, err)
			return
		}
		rels, lines = append(rels, r), append(lines, line)
	}
	if err := sc.Err(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(c, apperr.New(apperr.TooLarge, "body_too_large", "the import exceeds %d bytes", mbe.Limit))
			return
		}
		writeError(c, apperr.InvalidField(fmt.Sprintf("line %d", line+1), "unreadable: %s", err))
		return
	}
	n, err := s.Engine.Import(guard.NamingUpdates(c.Request.Context(), "relationships"), rels)
	if err != nil {
		writeError(c, importError(err, rels, lines))
		return
	}
	logger(c).Info("relationships imported", "count", n, "by", principal(c).Subject)
	c.JSON(http.StatusOK, client.ImportResponse{Imported: n})
}

func (s *server) getSchema(c *gin.Context) {
	text, err := s.Engine.ReadSchema(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.SchemaResponse{Schema: text})
}

func diagnostics(ds []validation.Diagnostic) []client.Diagnostic {
	out := make([]client.Diagnostic, 0, len(ds))
	for _, d := range ds {
		out = append(out, client.Diagnostic{Line: d.Line, Column: d.Column, Message: d.Message})
	}
	return out
}

func (s *server) validateSchema(c *gin.Context) {
	var req client.ValidateRequest
	if !bind(c, &req) {
		return
	}
	var rep validation.Report
	var err error
	switch {
	case (req.Schema == "") == (req.ValidationFile == ""):
		writeError(c, apperr.InvalidField("schema", "give exactly one of schema (a .zed text) or validation_file (a validation YAML)"))
		return
	case req.Schema != "":
		rep, err = validation.ValidateSchema(req.Schema)
	default:
		rep, err = validation.ValidateBytes("validation_file", []byte(req.ValidationFile))
	}
	if err != nil {
		writeError(c, apperr.InvalidField("validation_file", "%s", err))
		return
	}
	c.JSON(http.StatusOK, client.ValidateResponse{Valid: rep.OK(), Errors: diagnostics(rep.Errors), Warnings: diagnostics(rep.Warnings)})
}

// blame finds the update that SpiceDB's refusal is about: the first whose resource type
// and relation its message names. -1 when none matches.
func blame(msg string, updates []relations.Update) int {
	q := func(s string) string { return "`" + s + "`" }
	for i, u := range updates {
		rt, rel := schema.StoredType(u.Relationship.Resource.Type), u.Relationship.Relation
		if strings.Contains(msg, q(rt+"#"+rel)) || (strings.Contains(msg, q(rel)) && strings.Contains(msg, q(rt))) {
			return i
		}
	}
	return -1
}
