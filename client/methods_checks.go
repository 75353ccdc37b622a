package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
)

// post is a POST that changes nothing (checks, lookups, validation): retried.
func (c *Client) post(ctx context.Context, p string, body, out any) error {
	return c.do(ctx, call{method: "POST", path: p, body: body, idempotent: true, out: out})
}

// Check is POST /api/v1/check (C1).
func (c *Client) Check(ctx context.Context, req CheckRequest) (CheckResponse, error) {
	var out CheckResponse
	return out, c.post(ctx, v1+"/check", req, &out)
}

// CheckBulk is POST /api/v1/check/bulk (C2).
func (c *Client) CheckBulk(ctx context.Context, req BulkRequest) (BulkResponse, error) {
	var out BulkResponse
	return out, c.post(ctx, v1+"/check/bulk", req, &out)
}

// LookupResources is POST /api/v1/lookup/resources (C2).
func (c *Client) LookupResources(ctx context.Context, req LookupResourcesRequest) (LookupResourcesResponse, error) {
	var out LookupResourcesResponse
	return out, c.post(ctx, v1+"/lookup/resources", req, &out)
}

// LookupSubjects is POST /api/v1/lookup/subjects (C2).
func (c *Client) LookupSubjects(ctx context.Context, req LookupSubjectsRequest) (LookupSubjectsResponse, error) {
	var out LookupSubjectsResponse
	return out, c.post(ctx, v1+"/lookup/subjects", req, &out)
}

// Explain is POST /api/v1/explain (C2).
func (c *Client) Explain(ctx context.Context, req CheckRequest) (ExplainResponse, error) {
	var out ExplainResponse
	return out, c.post(ctx, v1+"/explain", req, &out)
}

// Relationships is GET /api/v1/relationships (A1); empty filter fields are not sent.
func (c *Client) Relationships(ctx context.Context, f Filter) (RelationshipsResponse, error) {
	q := url.Values{}
	for k, v := range map[string]string{"resource": f.Resource, "relation": f.Relation, "subject": f.Subject} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out RelationshipsResponse
	return out, c.get(ctx, v1+"/relationships", q, &out)
}

// WriteRelationships is POST /api/v1/relationships (A1). It is retried only when a
// repeat cannot change the outcome: every update a touch or a delete, no preconditions.
func (c *Client) WriteRelationships(ctx context.Context, req WriteRequest) (WriteResponse, error) {
	idem := len(req.Preconditions) == 0
	for _, u := range req.Updates {
		idem = idem && (u.Operation == OpTouch || u.Operation == OpDelete)
	}
	var out WriteResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/relationships", body: req, idempotent: idem, out: &out})
}

// ErrExportIncomplete is returned when the server ends an export with an error line.
var ErrExportIncomplete = errors.New("export interrupted by the server; the output is incomplete")

// ExportRelationships is GET /api/v1/relationships/export (A1): fn gets each NDJSON
// line in order. An error from fn stops the export and is returned.
func (c *Client) ExportRelationships(ctx context.Context, fn func(ExportLine) error) error {
	return c.do(ctx, call{method: "GET", path: v1 + "/relationships/export", idempotent: true, stream: func(r io.Reader) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var l struct {
				ExportLine
				Error string `json:"error"`
			}
			if err := json.Unmarshal(line, &l); err != nil {
				return fmt.Errorf("export line %d: %w", n, err)
			}
			if l.Error != "" || l.Relationship == "" {
				return ErrExportIncomplete
			}
			if err := fn(l.ExportLine); err != nil {
				return err
			}
		}
		return sc.Err()
	}})
}

// ImportRelationships is POST /api/v1/relationships/import (A1): body is NDJSON, one
// ExportLine per line. Import is idempotent; it is retried when body can be read again
// (*bytes.Reader, *bytes.Buffer, *strings.Reader), not when it is a stream.
func (c *Client) ImportRelationships(ctx context.Context, body io.Reader) (ImportResponse, error) {
	var out ImportResponse
	return out, c.do(ctx, call{method: "POST", path: v1 + "/relationships/import", raw: body,
		contentType: "application/x-ndjson", idempotent: true, out: &out})
}

// Schema is GET /api/v1/schema (A2).
func (c *Client) Schema(ctx context.Context) (SchemaResponse, error) {
	var out SchemaResponse
	return out, c.get(ctx, v1+"/schema", nil, &out)
}

// ValidateSchema is POST /api/v1/schema/validate (A2).
func (c *Client) ValidateSchema(ctx context.Context, req ValidateRequest) (ValidateResponse, error) {
	var out ValidateResponse
	return out, c.post(ctx, v1+"/schema/validate", req, &out)
}
