package relations

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// checkRequest builds the SpiceDB request of req; st is the view of revisions it is
// answered under when req names no consistency.
func checkRequest(req CheckRequest, st *revState) (*v1.CheckPermissionRequest, error) {
	res, err := objectProto(req.Resource)
	if err != nil {
		return nil, fmt.Errorf("resource %q: %w", req.Resource.String(), err)
	}
	if !validateName(req.Permission) {
		return nil, fmt.Errorf("%w: permission %q: bad permission name", ErrInvalid, req.Permission)
	}
	sub, err := subjectProto(req.Subject)
	if err != nil {
		return nil, fmt.Errorf("subject %q: %w", req.Subject.String(), err)
	}
	if req.Subject.ID == Wildcard {
		return nil, fmt.Errorf("%w: subject %q: a wildcard cannot be checked", ErrInvalid, req.Subject.String())
	}
	return &v1.CheckPermissionRequest{
		Consistency: consistencyAt(req.Consistency, st),
		Resource:    res,
		Permission:  schema.SubjectPermission(req.Resource.Type, req.Permission, req.Subject.Type),
		Subject:     sub,
	}, nil
}

// Check answers one permission check. Checks that ask for no particular consistency are
// served from the check cache when they can be.
func (e *spiceEngine) Check(ctx context.Context, req CheckRequest) (CheckResult, error) {
	st := e.seen.load()
	cacheable := e.cache != nil && req.Consistency == (Consistency{})
	key := checkKey{resource: req.Resource, permission: req.Permission, subject: req.Subject}
	if cacheable {
		if r, ok := e.cache.get(key, st); ok {
			return r, nil
		}
	}
	pr, err := checkRequest(req, st)
	if err != nil {
		return CheckResult{}, err
	}
	resp, err := e.perms.CheckPermission(ctx, pr)
	if err != nil {
		return CheckResult{}, mapError("check", err, false)
	}
	r := CheckResult{
		Allowed:   resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION,
		CheckedAt: resp.GetCheckedAt().GetToken(),
	}
	if req.Consistency != (Consistency{}) {
		// Monotonic reads: a caller that asked for fresher data than this engine had seen
		// (a token from another replica's write) has shown that revision exists; later
		// checks naming no consistency must not answer from before it.
		e.seen.noteToken(resp.GetCheckedAt())
	}
	if cacheable && resp.GetPermissionship() != v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION {
		e.cache.put(key, st, e.seen.load(), r, st.cacheTTL(e.seen.local))
	}
	return r, nil
}

// bulkConsistency picks one consistency for a bulk call: full if any item asks for it
// or if items carry different tokens, else the one token, else minimize latency.
func bulkConsistency(reqs []CheckRequest) Consistency {
	var token string
	for _, r := range reqs {
		if r.Consistency.Full {
			return Consistency{Full: true}
		}
		if t := r.Consistency.AtLeastAsFresh; t != "" {
			if token != "" && token != t {
				return Consistency{Full: true}
			}
			token = t
		}
	}
	return Consistency{AtLeastAsFresh: token}
}

// CheckBulk answers many checks with CheckBulkPermissions, in order.
func (e *spiceEngine) CheckBulk(ctx context.Context, reqs []CheckRequest) ([]BulkResult, error) {
	results := make([]BulkResult, len(reqs))
	st := e.seen.load()
	cons := consistencyAt(bulkConsistency(reqs), st)
	var items []*v1.CheckBulkPermissionsRequestItem
	var index []int
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		resp, err := e.perms.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: cons, Items: items})
		if err != nil {
			return mapError("check bulk", err, false)
		}
		pairs := resp.GetPairs()
		if len(pairs) != len(items) {
			return fmt.Errorf("%w: check bulk: %d answers for %d checks", ErrUnavailable, len(pairs), len(items))
		}
		for i, p := range pairs {
			switch r := p.GetResponse().(type) {
			case *v1.CheckBulkPermissionsPair_Item:
				results[index[i]].Allowed = r.Item.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
			case *v1.CheckBulkPermissionsPair_Error:
				results[index[i]].Err = mapStatus("check bulk", status.FromProto(r.Error), false)
			default:
				results[index[i]].Err = fmt.Errorf("%w: check bulk: empty answer", ErrUnavailable)
			}
		}
		items, index = items[:0], index[:0]
		return nil
	}
	for i, r := range reqs {
		pr, err := checkRequest(r, st)
		if err != nil {
			results[i].Err = err
			continue
		}
		items = append(items, &v1.CheckBulkPermissionsRequestItem{Resource: pr.Resource, Permission: pr.Permission, Subject: pr.Subject})
		index = append(index, i)
		if len(items) == bulkCheckChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return results, nil
}

// LookupResources lists the objects of resourceType on which subject has permission.
func (e *spiceEngine) LookupResources(ctx context.Context, subject Subject, permission, resourceType string, c Consistency) ([]Object, error) {
	sub, err := subjectProto(subject)
	if err != nil {
		return nil, fmt.Errorf("subject %q: %w", subject.String(), err)
	}
	rt, err := StoredType(resourceType)
	if err != nil {
		return nil, fmt.Errorf("resource type: %w", err)
	}
	if !validateName(permission) {
		return nil, fmt.Errorf("%w: permission %q: bad permission name", ErrInvalid, permission)
	}
	stream, err := e.perms.LookupResources(ctx, &v1.LookupResourcesRequest{
		Consistency:        e.consistency(c),
		ResourceObjectType: rt,
		Permission:         schema.SubjectPermission(resourceType, permission, subject.Type),
		Subject:            sub,
	})
	if err != nil {
		return nil, mapError("lookup resources", err, false)
	}
	return collectObjects("lookup resources", resourceType, func() (string, bool, error) {
		resp, err := stream.Recv()
		return resp.GetResourceObjectId(),
			resp.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION, err
	})
}

// LookupSubjects lists the subjects of subjectType with permission on resource.
func (e *spiceEngine) LookupSubjects(ctx context.Context, resource Object, permission, subjectType string, c Consistency) ([]Object, error) {
	res, err := objectProto(resource)
	if err != nil {
		return nil, fmt.Errorf("resource %q: %w", resource.String(), err)
	}
	st, err := StoredType(subjectType)
	if err != nil {
		return nil, fmt.Errorf("subject type: %w", err)
	}
	if !validateName(permission) {
		return nil, fmt.Errorf("%w: permission %q: bad permission name", ErrInvalid, permission)
	}
	stream, err := e.perms.LookupSubjects(ctx, &v1.LookupSubjectsRequest{
		Consistency:       e.consistency(c),
		Resource:          res,
		Permission:        schema.SubjectPermission(resource.Type, permission, subjectType),
		SubjectObjectType: st,
	})
	if err != nil {
		return nil, mapError("lookup subjects", err, false)
	}
	return collectObjects("lookup subjects", subjectType, func() (string, bool, error) {
		resp, err := stream.Recv()
		s := resp.GetSubject()
		return s.GetSubjectObjectId(),
			s.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION, err
	})
}

// collectObjects drains a lookup stream: next returns the stored id of each answer and
// whether it holds the permission outright (not conditionally). It returns the objects
// of typ that do, each once, in the order the stream gave them.
func collectObjects(method, typ string, next func() (id string, has bool, err error)) ([]Object, error) {
	out := []Object{}
	seen := map[string]bool{}
	for {
		stored, has, err := next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, mapError(method, err, false)
		}
		if !has {
			continue
		}
		id, err := DecodeID(stored)
		if err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, Object{Type: typ, ID: id})
		}
	}
}
