package relations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/grpcutil"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	datastorecfg "github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"github.com/authzed/spicedb/pkg/datastore/migration"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
)

// RemoteConfig configures an Engine backed by a remote SpiceDB.
type RemoteConfig struct {
	// Endpoint is SpiceDB's gRPC address, host:port.
	Endpoint string
	// Token is SpiceDB's preshared key, sent as a bearer token.
	Token string
	// Insecure disables TLS (plaintext gRPC); otherwise TLS with the system roots.
	Insecure bool
}

// Validate checks the configuration.
func (c RemoteConfig) Validate() error {
	if c.Endpoint == "" {
		return fmt.Errorf("%w: remote SpiceDB endpoint is required", ErrInvalid)
	}
	return nil
}

// EmbeddedConfig configures an in-process SpiceDB.
type EmbeddedConfig struct {
	// DatastoreEngine is "memory" (the default, ephemeral), "postgres" or "cockroachdb".
	DatastoreEngine string
	// DatastoreURI is the connection string of a postgres or cockroachdb datastore.
	DatastoreURI string
}

// Validate checks the configuration (after defaults).
func (c EmbeddedConfig) Validate() error {
	switch c.engine() {
	case datastorecfg.MemoryEngine:
		return nil
	case datastorecfg.PostgresEngine, datastorecfg.CockroachEngine:
		if c.DatastoreURI == "" {
			return fmt.Errorf("%w: datastore URI is required for the %s datastore", ErrInvalid, c.engine())
		}
		return nil
	default:
		return fmt.Errorf("%w: unsupported datastore engine %q (memory, postgres or cockroachdb)", ErrInvalid, c.DatastoreEngine)
	}
}

func (c EmbeddedConfig) engine() string {
	if c.DatastoreEngine == "" {
		return datastorecfg.MemoryEngine
	}
	return c.DatastoreEngine
}

// spiceEngine implements Engine on a gRPC connection to SpiceDB's v1 API. Both the
// remote and the embedded backings use it.
type spiceEngine struct {
	conn   *grpc.ClientConn
	perms  v1.PermissionsServiceClient
	schema v1.SchemaServiceClient

	// maxUpdates is the largest number of updates sent in one write by Import.
	maxUpdates int

	// lastWrite is the token of this engine's newest write. Requests that ask for no
	// particular consistency are answered at least as fresh as it, so a process always
	// sees its own writes: a removed member or admin loses access at the next check
	// (O3, P2), while checks between writes still hit SpiceDB's caches.
	lastWrite atomic.Pointer[v1.ZedToken]

	// cache answers repeated checks between writes; nil disables it.
	cache *checkCache

	closeOnce sync.Once
	closeErr  error
	stop      func() error // embedded only: stops the server and waits for it
}

// Check cache bounds: answers are kept at most this long (how late another process's
// write may be seen, on top of SpiceDB's own 5 s revision quantization) and this many at once.
const (
	defaultCheckCacheTTL  = 2 * time.Second
	defaultCheckCacheSize = 200_000
)

// PermissionsClient returns the SpiceDB gRPC client under e (unwrapping Instrument), for
// benchmarks that compare Gatehouse with SpiceDB itself.
func PermissionsClient(e Engine) (v1.PermissionsServiceClient, bool) {
	if i, ok := e.(*instrumented); ok {
		e = i.next
	}
	se, ok := e.(*spiceEngine)
	if !ok {
		return nil, false
	}
	return se.perms, true
}

// noteWrite records token as the newest write.
func (e *spiceEngine) noteWrite(token *v1.ZedToken) {
	if token.GetToken() != "" {
		e.lastWrite.Store(token)
	}
}

// consistency returns the SpiceDB consistency for c: the default is at least as fresh as
// this engine's newest write, or minimize latency before any write.
func (e *spiceEngine) consistency(c Consistency) *v1.Consistency {
	if !c.Full && c.AtLeastAsFresh == "" {
		if lw := e.lastWrite.Load(); lw != nil {
			return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: lw}}
		}
	}
	return consistencyProto(c)
}

const (
	defaultMaxUpdates = 1000
	readPageSize      = 1000
	bulkCheckChunk    = 100
	exportPageSize    = 1000
)

var _ Engine = (*spiceEngine)(nil)

// NewRemote returns an Engine talking to a remote SpiceDB. It does not dial eagerly:
// use Ready to know whether SpiceDB answers.
func NewRemote(ctx context.Context, cfg RemoteConfig) (Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var opts []grpc.DialOption
	if cfg.Insecure {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if cfg.Token != "" {
			opts = append(opts, grpcutil.WithInsecureBearerToken(cfg.Token))
		}
	} else {
		certs, err := grpcutil.WithSystemCerts(grpcutil.VerifyCA)
		if err != nil {
			return nil, fmt.Errorf("%w: loading system certificates: %w", ErrUnavailable, err)
		}
		opts = append(opts, certs)
		if cfg.Token != "" {
			opts = append(opts, grpcutil.WithBearerToken(cfg.Token))
		}
	}
	conn, err := grpc.NewClient(cfg.Endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: remote SpiceDB %q: %w", ErrInvalid, cfg.Endpoint, err)
	}
	_ = ctx
	return newSpiceEngine(conn, nil), nil
}

func newSpiceEngine(conn *grpc.ClientConn, stop func() error) *spiceEngine {
	return &spiceEngine{
		conn:       conn,
		perms:      v1.NewPermissionsServiceClient(conn),
		schema:     v1.NewSchemaServiceClient(conn),
		maxUpdates: defaultMaxUpdates,
		stop:       stop,
		cache:      newCheckCache(defaultCheckCacheTTL, defaultCheckCacheSize),
	}
}

// NewEmbedded starts an in-process SpiceDB and returns an Engine on it. For postgres
// and cockroachdb the datastore is migrated to head first. ctx bounds the start only;
// Close stops the server.
func NewEmbedded(ctx context.Context, cfg EmbeddedConfig) (Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	engineName := cfg.engine()
	if engineName != datastorecfg.MemoryEngine {
		err := migration.Run(ctx, &migration.Config{
			DatastoreEngine: engineName,
			DatastoreURI:    cfg.DatastoreURI,
			Timeout:         10 * time.Minute,
			BatchSize:       1000,
		}, "head")
		if err != nil {
			return nil, fmt.Errorf("%w: migrating the %s datastore: %w", ErrUnavailable, engineName, err)
		}
	}

	keyBytes := make([]byte, 32)
	if _, err := rand.Read(keyBytes); err != nil {
		return nil, fmt.Errorf("generating the embedded SpiceDB key: %w", err)
	}
	key := hex.EncodeToString(keyBytes)

	srvCfg := server.NewConfigWithOptionsAndDefaults(
		server.WithGRPCServer(util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}),
		server.WithPresharedSecureKey(key),
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
		server.WithSilentlyDisableTelemetry(true),
		server.WithTelemetryEndpoint(""),
		server.WithMaximumUpdatesPerWrite(defaultMaxUpdates),
		server.WithDatastoreConfig(*datastorecfg.NewConfigWithOptionsAndDefaults(
			datastorecfg.WithEngine(engineName),
			datastorecfg.WithURI(cfg.DatastoreURI),
		)),
	)
	rs, err := srvCfg.Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: starting embedded SpiceDB: %w", ErrUnavailable, err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- rs.Run(runCtx) }()
	stop := func() error {
		cancel()
		err := <-done
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("stopping embedded SpiceDB: %w", err)
		}
		return nil
	}

	conn, err := rs.NewClient(
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpcutil.WithInsecureBearerToken(key),
	)
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("%w: connecting to embedded SpiceDB: %w", ErrUnavailable, err)
	}
	e := newSpiceEngine(conn, stop)
	if engineName == "memory" {
		// Nothing but this process writes an in-process memory datastore, so an answer
		// stays right until our next write: keep it for the whole generation.
		e.cache.ttl = time.Hour
	}

	// Wait until it answers.
	for {
		rerr := e.Ready(ctx)
		if rerr == nil {
			return e, nil
		}
		select {
		case err := <-done:
			_ = conn.Close()
			cancel()
			return nil, fmt.Errorf("%w: embedded SpiceDB stopped while starting: %w", ErrUnavailable, err)
		case <-ctx.Done():
			_ = e.Close()
			return nil, fmt.Errorf("%w: embedded SpiceDB did not become ready: %w", ErrUnavailable, rerr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close closes the connection and, for the embedded engine, stops the server.
func (e *spiceEngine) Close() error {
	e.closeOnce.Do(func() {
		err := e.conn.Close()
		if e.stop != nil {
			err = errors.Join(err, e.stop())
		}
		e.closeErr = err
	})
	return e.closeErr
}

// ---- conversions ----

func consistencyProto(c Consistency) *v1.Consistency {
	switch {
	case c.Full:
		return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
	case c.AtLeastAsFresh != "":
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: c.AtLeastAsFresh}}}
	default:
		return &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}
	}
}

func objectProto(o Object) (*v1.ObjectReference, error) {
	if err := o.validate(false); err != nil {
		return nil, err
	}
	t, _ := StoredType(o.Type)
	id, _ := EncodeID(o.ID)
	return &v1.ObjectReference{ObjectType: t, ObjectId: id}, nil
}

func subjectProto(s Subject) (*v1.SubjectReference, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	t, _ := StoredType(s.Type)
	id := Wildcard
	if s.ID != Wildcard {
		id, _ = EncodeID(s.ID)
	}
	return &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: t, ObjectId: id}, OptionalRelation: s.Relation}, nil
}

func relationshipProto(r Relationship) (*v1.Relationship, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	res, err := objectProto(r.Resource)
	if err != nil {
		return nil, err
	}
	sub, err := subjectProto(r.Subject)
	if err != nil {
		return nil, err
	}
	return &v1.Relationship{Resource: res, Relation: r.Relation, Subject: sub}, nil
}

func objectFromProto(o *v1.ObjectReference) (Object, error) {
	t, err := APIType(o.GetObjectType())
	if err != nil {
		return Object{}, err
	}
	id, err := DecodeID(o.GetObjectId())
	if err != nil {
		return Object{}, err
	}
	return Object{Type: t, ID: id}, nil
}

func relationshipFromProto(r *v1.Relationship) (Relationship, error) {
	res, err := objectFromProto(r.GetResource())
	if err != nil {
		return Relationship{}, err
	}
	sub, err := objectFromProto(r.GetSubject().GetObject())
	if err != nil {
		return Relationship{}, err
	}
	return Relationship{
		Resource: res,
		Relation: r.GetRelation(),
		Subject:  Subject{Object: sub, Relation: r.GetSubject().GetOptionalRelation()},
	}, nil
}

func filterProto(f Filter) (*v1.RelationshipFilter, error) {
	if f.ResourceType == "" {
		return nil, fmt.Errorf("%w: filter: resource type is required", ErrInvalid)
	}
	rt, err := StoredType(f.ResourceType)
	if err != nil {
		return nil, fmt.Errorf("filter: resource type: %w", err)
	}
	pf := &v1.RelationshipFilter{ResourceType: rt}
	if f.ResourceID != "" {
		if pf.OptionalResourceId, err = EncodeID(f.ResourceID); err != nil {
			return nil, fmt.Errorf("filter: resource id: %w", err)
		}
	}
	if f.Relation != "" {
		if !validateName(f.Relation) {
			return nil, fmt.Errorf("%w: filter: bad relation name %q", ErrInvalid, f.Relation)
		}
		pf.OptionalRelation = f.Relation
	}
	if f.SubjectType == "" {
		if f.SubjectID != "" || f.SubjectRelation != "" {
			return nil, fmt.Errorf("%w: filter: subject id or relation given without a subject type", ErrInvalid)
		}
		return pf, nil
	}
	st, err := StoredType(f.SubjectType)
	if err != nil {
		return nil, fmt.Errorf("filter: subject type: %w", err)
	}
	sf := &v1.SubjectFilter{SubjectType: st}
	switch f.SubjectID {
	case "":
	case Wildcard:
		sf.OptionalSubjectId = Wildcard
	default:
		if sf.OptionalSubjectId, err = EncodeID(f.SubjectID); err != nil {
			return nil, fmt.Errorf("filter: subject id: %w", err)
		}
	}
	if f.SubjectRelation != "" {
		if !validateName(f.SubjectRelation) {
			return nil, fmt.Errorf("%w: filter: bad subject relation name %q", ErrInvalid, f.SubjectRelation)
		}
		sf.OptionalRelation = &v1.SubjectFilter_RelationFilter{Relation: f.SubjectRelation}
	}
	pf.OptionalSubjectFilter = sf
	return pf, nil
}

// ---- errors ----

// mapError translates a gRPC error from SpiceDB into the package's error kinds. method
// names the call for ErrUnavailable messages; write selects precondition semantics for
// FailedPrecondition and AlreadyExists.
func mapError(method string, err error, write bool) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrPrecondition) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrSchemaConflict) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %s: %w", ErrUnavailable, method, err)
		}
		return fmt.Errorf("%w: %s: connection failure", ErrUnavailable, method)
	}
	return mapStatus(method, st, write)
}

func errorReason(st *status.Status) (v1.ErrorReason, map[string]string) {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if r, ok := v1.ErrorReason_value[info.GetReason()]; ok {
				return v1.ErrorReason(r), info.GetMetadata()
			}
		}
	}
	return v1.ErrorReason_ERROR_REASON_UNSPECIFIED, nil
}

func mapStatus(method string, st *status.Status, write bool) error {
	reason, _ := errorReason(st)
	switch reason {
	case v1.ErrorReason_ERROR_REASON_WRITE_OR_DELETE_PRECONDITION_FAILURE,
		v1.ErrorReason_ERROR_REASON_ATTEMPT_TO_RECREATE_RELATIONSHIP:
		return fmt.Errorf("%w: %s", ErrPrecondition, st.Message())
	case v1.ErrorReason_ERROR_REASON_UNKNOWN_DEFINITION,
		v1.ErrorReason_ERROR_REASON_UNKNOWN_RELATION_OR_PERMISSION,
		v1.ErrorReason_ERROR_REASON_SCHEMA_PARSE_ERROR,
		v1.ErrorReason_ERROR_REASON_SCHEMA_TYPE_ERROR,
		v1.ErrorReason_ERROR_REASON_INVALID_SUBJECT_TYPE,
		v1.ErrorReason_ERROR_REASON_WILDCARD_NOT_ALLOWED,
		v1.ErrorReason_ERROR_REASON_CANNOT_UPDATE_PERMISSION,
		v1.ErrorReason_ERROR_REASON_UPDATES_ON_SAME_RELATIONSHIP,
		v1.ErrorReason_ERROR_REASON_TOO_MANY_UPDATES_IN_REQUEST,
		v1.ErrorReason_ERROR_REASON_TOO_MANY_PRECONDITIONS_IN_REQUEST,
		v1.ErrorReason_ERROR_REASON_TOO_MANY_CHECKS_IN_REQUEST,
		v1.ErrorReason_ERROR_REASON_EXCEEDS_MAXIMUM_ALLOWABLE_LIMIT,
		v1.ErrorReason_ERROR_REASON_INVALID_FILTER,
		v1.ErrorReason_ERROR_REASON_EMPTY_PRECONDITION,
		v1.ErrorReason_ERROR_REASON_UNKNOWN_CAVEAT,
		v1.ErrorReason_ERROR_REASON_INVALID_CURSOR,
		v1.ErrorReason_ERROR_REASON_MAX_RELATIONSHIP_CONTEXT_SIZE,
		v1.ErrorReason_ERROR_REASON_MAXIMUM_DEPTH_EXCEEDED:
		return fmt.Errorf("%w: %s", ErrInvalid, st.Message())
	}
	switch st.Code() {
	case codes.InvalidArgument, codes.NotFound, codes.OutOfRange:
		return fmt.Errorf("%w: %s", ErrInvalid, st.Message())
	case codes.FailedPrecondition, codes.AlreadyExists:
		if write {
			return fmt.Errorf("%w: %s", ErrPrecondition, st.Message())
		}
		return fmt.Errorf("%w: %s", ErrInvalid, st.Message())
	default:
		// Unavailable, DeadlineExceeded, Internal, Unknown, Aborted, ResourceExhausted,
		// Unauthenticated, PermissionDenied...: the engine is not usable. Keep the
		// driver's text out of the message.
		return fmt.Errorf("%w: %s: %s", ErrUnavailable, method, strings.ToLower(st.Code().String()))
	}
}

// isSchemaConflict reports whether a WriteSchema failure is SpiceDB refusing to orphan
// stored relationships.
func isSchemaConflict(err error) (string, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return "", false
	}
	_, md := errorReason(st)
	msg := st.Message()
	if md["operation"] != "" || strings.Contains(msg, "relationship exists") || strings.Contains(msg, "at least one relationship") {
		return msg, true
	}
	return "", false
}

// ---- checks ----

func (e *spiceEngine) checkRequest(req CheckRequest) (*v1.CheckPermissionRequest, error) {
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
		Consistency: e.consistency(req.Consistency),
		Resource:    res,
		Permission:  req.Permission,
		Subject:     sub,
	}, nil
}

// Check answers one permission check. Checks that ask for no particular consistency are
// served from the check cache when they can be.
func (e *spiceEngine) Check(ctx context.Context, req CheckRequest) (CheckResult, error) {
	cacheable := e.cache != nil && req.Consistency == (Consistency{})
	key := checkKey{resource: req.Resource, permission: req.Permission, subject: req.Subject}
	gen := e.lastWrite.Load()
	if cacheable {
		if r, ok := e.cache.get(key, gen); ok {
			return r, nil
		}
	}
	pr, err := e.checkRequest(req)
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
	if cacheable && resp.GetPermissionship() != v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION {
		e.cache.put(key, gen, e.lastWrite.Load(), r)
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
	cons := e.consistency(bulkConsistency(reqs))
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
		pr, err := e.checkRequest(r)
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
		Permission:         permission,
		Subject:            sub,
	})
	if err != nil {
		return nil, mapError("lookup resources", err, false)
	}
	out := []Object{}
	seen := map[string]bool{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, mapError("lookup resources", err, false)
		}
		if resp.GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			continue
		}
		id, err := DecodeID(resp.GetResourceObjectId())
		if err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, Object{Type: resourceType, ID: id})
		}
	}
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
		Permission:        permission,
		SubjectObjectType: st,
	})
	if err != nil {
		return nil, mapError("lookup subjects", err, false)
	}
	out := []Object{}
	seen := map[string]bool{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, mapError("lookup subjects", err, false)
		}
		s := resp.GetSubject()
		if s.GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			continue
		}
		id, err := DecodeID(s.GetSubjectObjectId())
		if err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, Object{Type: subjectType, ID: id})
		}
	}
}

// ---- relationships ----

// Read returns the relationships matching f, paging through SpiceDB's limit.
func (e *spiceEngine) Read(ctx context.Context, f Filter, c Consistency) ([]Relationship, error) {
	pf, err := filterProto(f)
	if err != nil {
		return nil, err
	}
	out := []Relationship{}
	err = e.readProto(ctx, pf, e.consistency(c), func(r *v1.Relationship) error {
		rel, err := relationshipFromProto(r)
		if err != nil {
			return err
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readProto streams the relationships matching pf to fn, page by page.
func (e *spiceEngine) readProto(ctx context.Context, pf *v1.RelationshipFilter, cons *v1.Consistency, fn func(*v1.Relationship) error) error {
	var cursor *v1.Cursor
	for {
		stream, err := e.perms.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
			Consistency:        cons,
			RelationshipFilter: pf,
			OptionalLimit:      readPageSize,
			OptionalCursor:     cursor,
		})
		if err != nil {
			return mapError("read", err, false)
		}
		n := 0
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return mapError("read", err, false)
			}
			n++
			cursor = resp.GetAfterResultCursor()
			if cons.GetAtLeastAsFresh() == nil && !cons.GetFullyConsistent() && resp.GetReadAt() != nil {
				// Pin later pages to the revision of the first one.
				cons = &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: resp.GetReadAt()}}
			}
			if err := fn(resp.GetRelationship()); err != nil {
				return err
			}
		}
		if n < readPageSize || cursor == nil {
			return nil
		}
	}
}

func updateProto(u Update) (*v1.RelationshipUpdate, error) {
	var op v1.RelationshipUpdate_Operation
	switch u.Operation {
	case OpTouch:
		op = v1.RelationshipUpdate_OPERATION_TOUCH
	case OpCreate:
		op = v1.RelationshipUpdate_OPERATION_CREATE
	case OpDelete:
		op = v1.RelationshipUpdate_OPERATION_DELETE
	default:
		return nil, fmt.Errorf("%w: operation %q: must be touch, create or delete", ErrInvalid, u.Operation)
	}
	r, err := relationshipProto(u.Relationship)
	if err != nil {
		return nil, err
	}
	return &v1.RelationshipUpdate{Operation: op, Relationship: r}, nil
}

// Write applies all updates atomically if every precondition holds.
func (e *spiceEngine) Write(ctx context.Context, updates []Update, preconditions []Precondition) (string, error) {
	if len(updates) == 0 {
		return "", fmt.Errorf("%w: updates: at least one update is required", ErrInvalid)
	}
	req := &v1.WriteRelationshipsRequest{}
	for i, u := range updates {
		pu, err := updateProto(u)
		if err != nil {
			return "", fmt.Errorf("update %d: %w", i, err)
		}
		req.Updates = append(req.Updates, pu)
	}
	for i, p := range preconditions {
		pf, err := filterProto(p.Filter)
		if err != nil {
			return "", fmt.Errorf("precondition %d: %w", i, err)
		}
		op := v1.Precondition_OPERATION_MUST_NOT_MATCH
		if p.MustExist {
			op = v1.Precondition_OPERATION_MUST_MATCH
		}
		req.OptionalPreconditions = append(req.OptionalPreconditions, &v1.Precondition{Operation: op, Filter: pf})
	}
	resp, err := e.perms.WriteRelationships(ctx, req)
	if err != nil {
		return "", mapError("write", err, true)
	}
	e.noteWrite(resp.GetWrittenAt())
	return resp.GetWrittenAt().GetToken(), nil
}

// DeleteMatching deletes every relationship matching f, in as many calls as SpiceDB's
// deletion limit requires.
func (e *spiceEngine) DeleteMatching(ctx context.Context, f Filter) (string, error) {
	pf, err := filterProto(f)
	if err != nil {
		return "", err
	}
	for {
		resp, err := e.perms.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{
			RelationshipFilter:            pf,
			OptionalLimit:                 defaultMaxUpdates,
			OptionalAllowPartialDeletions: true,
		})
		if err != nil {
			return "", mapError("delete", err, true)
		}
		e.noteWrite(resp.GetDeletedAt())
		if resp.GetDeletionProgress() != v1.DeleteRelationshipsResponse_DELETION_PROGRESS_PARTIAL {
			return resp.GetDeletedAt().GetToken(), nil
		}
	}
}

// Export streams every stored relationship to fn with ExportBulkRelationships, in
// SpiceDB's stable order, all pages at one snapshot.
func (e *spiceEngine) Export(ctx context.Context, fn func(Relationship) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Pin the export to one revision: read the head token first.
	schemaResp, err := e.schema.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	var cons *v1.Consistency
	switch {
	case err == nil && schemaResp.GetReadAt() != nil:
		cons = &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: schemaResp.GetReadAt()}}
	case err == nil || status.Code(err) == codes.NotFound:
		cons = consistencyProto(Consistency{Full: true})
	default:
		return mapError("export", err, false)
	}
	var cursor *v1.Cursor
	for {
		stream, err := e.perms.ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{
			Consistency:    cons,
			OptionalLimit:  exportPageSize,
			OptionalCursor: cursor,
		})
		if err != nil {
			return mapError("export", err, false)
		}
		n := 0
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return mapError("export", err, false)
			}
			cursor = resp.GetAfterResultCursor()
			for _, r := range resp.GetRelationships() {
				n++
				rel, err := relationshipFromProto(r)
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				if err := fn(rel); err != nil {
					return err
				}
			}
		}
		if n < exportPageSize || cursor == nil {
			return nil
		}
	}
}

// Import writes rels with TOUCH in batches of at most the server's write limit, so a
// re-import is idempotent. It returns how many relationships were written; on error,
// the batches before the failing one stay written.
func (e *spiceEngine) Import(ctx context.Context, rels []Relationship) (int, error) {
	written := 0
	batch := make([]*v1.RelationshipUpdate, 0, min(len(rels), e.maxUpdates))
	seen := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		resp, err := e.perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: batch})
		if err != nil {
			return fmt.Errorf("import after %d relationships: %w", written, mapError("import", err, true))
		}
		e.noteWrite(resp.GetWrittenAt())
		written += len(batch)
		batch = batch[:0]
		clear(seen)
		return nil
	}
	for i, r := range rels {
		pr, err := relationshipProto(r)
		if err != nil {
			return written, fmt.Errorf("relationship %d: %w", i, err)
		}
		key := r.String()
		if seen[key] {
			written++ // duplicate within the batch: touching it twice is the same write
			continue
		}
		seen[key] = true
		batch = append(batch, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: pr})
		if len(batch) == e.maxUpdates {
			if err := flush(); err != nil {
				return written, err
			}
		}
	}
	if err := flush(); err != nil {
		return written, err
	}
	return written, nil
}

// ---- schema ----

// ReadSchema returns the stored schema, "" when none is written.
func (e *spiceEngine) ReadSchema(ctx context.Context) (string, error) {
	resp, err := e.schema.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if status.Code(err) == codes.NotFound {
		return "", nil
	}
	if err != nil {
		return "", mapError("read schema", err, false)
	}
	return resp.GetSchemaText(), nil
}

// WriteSchema replaces the schema; a change that would orphan stored relationships is
// ErrSchemaConflict with SpiceDB's message naming them.
func (e *spiceEngine) WriteSchema(ctx context.Context, schema string) error {
	if strings.TrimSpace(schema) == "" {
		return fmt.Errorf("%w: schema: empty", ErrInvalid)
	}
	resp, err := e.schema.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schema})
	if err == nil {
		// Serve writes the schema at start, so even the first checks after a restart are
		// at least as fresh as everything written before it.
		e.noteWrite(resp.GetWrittenAt())
		return nil
	}
	if msg, ok := isSchemaConflict(err); ok {
		return fmt.Errorf("%w: %s", ErrSchemaConflict, msg)
	}
	return mapError("write schema", err, false)
}

// Ready returns nil while SpiceDB answers a cheap call.
func (e *spiceEngine) Ready(ctx context.Context) error {
	_, err := e.schema.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if err == nil || status.Code(err) == codes.NotFound {
		return nil
	}
	return mapError("ready", err, false)
}

// ---- explain ----

const (
	explainMaxDepth = 16
	explainMaxPaths = 32
	explainMaxRPCs  = 256
)

// Explain checks like Check (with SpiceDB's tracing on) and, when allowed, returns the
// chains of stored relationships that grant the permission.
//
// SpiceDB's debug trace alone cannot give those chains: it does not name the relation
// of an arrow hop, it merges sibling objects into one comma-joined node, it does not
// tell a computed userset from an arrow through a self-link (org#repos_open_to), and a
// sub-problem answered from the dispatch cache has no sub-tree. So the paths are walked
// along the schema's rewrite rules at the check's exact revision: every hop is a stored
// relationship found with ReadRelationships, and a branch is followed only when it
// holds; the trace's answers are reused so that most branches need no extra check. In
// an intersection or exclusion only the first operand (the grant proper, not the
// platform/org "open" gates) is shown, once every operand has been seen to hold.
func (e *spiceEngine) Explain(ctx context.Context, req CheckRequest) (Explanation, error) {
	pr, err := e.checkRequest(req)
	if err != nil {
		return Explanation{}, err
	}
	pr.WithTracing = true
	resp, err := e.perms.CheckPermission(ctx, pr)
	if err != nil {
		return Explanation{}, mapError("explain", err, false)
	}
	ex := Explanation{
		Allowed:   resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION,
		CheckedAt: resp.GetCheckedAt().GetToken(),
	}
	if !ex.Allowed {
		return ex, nil
	}
	schemaText, err := e.ReadSchema(ctx)
	if err != nil {
		return Explanation{}, err
	}
	compiled, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: schemaText}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return ex, nil // best effort: allowed, but no paths
	}
	x := &explainer{
		e:       e,
		defs:    map[string]*core.NamespaceDefinition{},
		subject: pr.Subject,
		cons:    &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: resp.GetCheckedAt()}},
		known:   map[string]bool{},
		reads:   map[string][]*v1.Relationship{},
		budget:  explainMaxRPCs,
	}
	for _, d := range compiled.ObjectDefinitions {
		x.defs[d.GetName()] = d
	}
	x.seed(resp.GetDebugTrace().GetCheck())
	paths, err := x.walk(ctx, pr.Resource.ObjectType, pr.Resource.ObjectId, pr.Permission, 0, map[string]bool{})
	if err != nil {
		return Explanation{}, err
	}
	seen := map[string]bool{}
	for _, p := range paths {
		apiPath := make([]Relationship, 0, len(p))
		var sb strings.Builder
		ok := true
		for _, r := range p {
			rel, err := relationshipFromProto(r)
			if err != nil {
				ok = false
				break
			}
			apiPath = append(apiPath, rel)
			sb.WriteString(rel.String())
			sb.WriteByte(' ')
		}
		if !ok || len(apiPath) == 0 || seen[sb.String()] {
			continue
		}
		seen[sb.String()] = true
		ex.Paths = append(ex.Paths, apiPath)
	}
	return ex, nil
}

type explainer struct {
	e       *spiceEngine
	defs    map[string]*core.NamespaceDefinition
	subject *v1.SubjectReference
	cons    *v1.Consistency
	known   map[string]bool
	reads   map[string][]*v1.Relationship
	budget  int
}

func explainKey(typ, id, rel string) string { return typ + ":" + id + "#" + rel }

// seed records the answers of the trace's single-object sub-problems.
func (x *explainer) seed(t *v1.CheckDebugTrace) {
	if t == nil {
		return
	}
	id := t.GetResource().GetObjectId()
	if !strings.Contains(id, ",") && t.GetCaveatEvaluationInfo() == nil {
		k := explainKey(t.GetResource().GetObjectType(), id, t.GetPermission())
		switch t.GetResult() {
		case v1.CheckDebugTrace_PERMISSIONSHIP_HAS_PERMISSION:
			x.known[k] = true
		case v1.CheckDebugTrace_PERMISSIONSHIP_NO_PERMISSION:
			x.known[k] = false
		}
	}
	for _, sub := range t.GetSubProblems().GetTraces() {
		x.seed(sub)
	}
}

func (x *explainer) relation(typ, rel string) *core.Relation {
	def := x.defs[typ]
	if def == nil {
		return nil
	}
	for _, r := range def.GetRelation() {
		if r.GetName() == rel {
			return r
		}
	}
	return nil
}

// holds reports whether the subject has rel on typ:id at the check's revision.
func (x *explainer) holds(ctx context.Context, typ, id, rel string) (bool, error) {
	if x.relation(typ, rel) == nil {
		return false, nil
	}
	k := explainKey(typ, id, rel)
	if v, ok := x.known[k]; ok {
		return v, nil
	}
	if x.budget <= 0 {
		return false, nil
	}
	x.budget--
	resp, err := x.e.perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: x.cons,
		Resource:    &v1.ObjectReference{ObjectType: typ, ObjectId: id},
		Permission:  rel,
		Subject:     x.subject,
	})
	if err != nil {
		if err := mapError("explain", err, false); errors.Is(err, ErrUnavailable) {
			return false, err
		}
		x.known[k] = false
		return false, nil
	}
	v := resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
	x.known[k] = v
	return v, nil
}

// read returns the stored relationships typ:id#rel@*.
func (x *explainer) read(ctx context.Context, typ, id, rel string) ([]*v1.Relationship, error) {
	k := explainKey(typ, id, rel)
	if rs, ok := x.reads[k]; ok {
		return rs, nil
	}
	if x.budget <= 0 {
		return nil, nil
	}
	x.budget--
	var rs []*v1.Relationship
	err := x.e.readProto(ctx, &v1.RelationshipFilter{ResourceType: typ, OptionalResourceId: id, OptionalRelation: rel}, x.cons,
		func(r *v1.Relationship) error {
			if len(rs) < readPageSize {
				rs = append(rs, r)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	x.reads[k] = rs
	return rs, nil
}

func prepend(r *v1.Relationship, paths [][]*v1.Relationship) [][]*v1.Relationship {
	out := make([][]*v1.Relationship, 0, len(paths))
	for _, p := range paths {
		out = append(out, append([]*v1.Relationship{r}, p...))
	}
	return out
}

// walk returns the paths by which the subject holds rel on typ:id.
func (x *explainer) walk(ctx context.Context, typ, id, rel string, depth int, onPath map[string]bool) ([][]*v1.Relationship, error) {
	k := explainKey(typ, id, rel)
	if depth > explainMaxDepth || onPath[k] {
		return nil, nil
	}
	r := x.relation(typ, rel)
	if r == nil {
		return nil, nil
	}
	onPath[k] = true
	defer delete(onPath, k)
	if r.GetUsersetRewrite() == nil {
		return x.walkDirect(ctx, typ, id, rel, depth, onPath)
	}
	return x.walkRewrite(ctx, typ, id, rel, r.GetUsersetRewrite(), depth, onPath)
}

// walkDirect follows the stored relationships typ:id#rel.
func (x *explainer) walkDirect(ctx context.Context, typ, id, rel string, depth int, onPath map[string]bool) ([][]*v1.Relationship, error) {
	rels, err := x.read(ctx, typ, id, rel)
	if err != nil {
		return nil, err
	}
	want := x.subject
	var out [][]*v1.Relationship
	for _, tr := range rels {
		if len(out) >= explainMaxPaths {
			break
		}
		s := tr.GetSubject()
		so := s.GetObject()
		sameType := so.GetObjectType() == want.GetObject().GetObjectType()
		switch {
		case sameType && so.GetObjectId() == want.GetObject().GetObjectId() && s.GetOptionalRelation() == want.GetOptionalRelation():
			out = append(out, []*v1.Relationship{tr})
		case sameType && so.GetObjectId() == Wildcard && want.GetOptionalRelation() == "":
			out = append(out, []*v1.Relationship{tr})
		case s.GetOptionalRelation() != "":
			ok, err := x.holds(ctx, so.GetObjectType(), so.GetObjectId(), s.GetOptionalRelation())
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			sub, err := x.walk(ctx, so.GetObjectType(), so.GetObjectId(), s.GetOptionalRelation(), depth+1, onPath)
			if err != nil {
				return nil, err
			}
			out = append(out, prepend(tr, sub)...)
		}
	}
	return out, nil
}

func (x *explainer) walkRewrite(ctx context.Context, typ, id, rel string, rw *core.UsersetRewrite, depth int, onPath map[string]bool) ([][]*v1.Relationship, error) {
	switch op := rw.GetRewriteOperation().(type) {
	case *core.UsersetRewrite_Union:
		var out [][]*v1.Relationship
		for _, c := range op.Union.GetChild() {
			p, err := x.walkChild(ctx, typ, id, rel, c, depth, onPath)
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
			if len(out) >= explainMaxPaths {
				break
			}
		}
		return out, nil
	case *core.UsersetRewrite_Intersection:
		var first [][]*v1.Relationship
		for i, c := range op.Intersection.GetChild() {
			p, err := x.walkChild(ctx, typ, id, rel, c, depth, onPath)
			if err != nil || len(p) == 0 {
				return nil, err
			}
			if i == 0 {
				first = p
			}
		}
		return first, nil
	case *core.UsersetRewrite_Exclusion:
		var base [][]*v1.Relationship
		for i, c := range op.Exclusion.GetChild() {
			p, err := x.walkChild(ctx, typ, id, rel, c, depth, onPath)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				if len(p) == 0 {
					return nil, nil
				}
				base = p
			} else if len(p) > 0 {
				return nil, nil
			}
		}
		return base, nil
	}
	return nil, nil
}

func (x *explainer) walkChild(ctx context.Context, typ, id, rel string, c *core.SetOperation_Child, depth int, onPath map[string]bool) ([][]*v1.Relationship, error) {
	arrow := func(tupleset, target string) ([][]*v1.Relationship, error) {
		rels, err := x.read(ctx, typ, id, tupleset)
		if err != nil {
			return nil, err
		}
		var out [][]*v1.Relationship
		for _, tr := range rels {
			so := tr.GetSubject().GetObject()
			ok, err := x.holds(ctx, so.GetObjectType(), so.GetObjectId(), target)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			sub, err := x.walk(ctx, so.GetObjectType(), so.GetObjectId(), target, depth+1, onPath)
			if err != nil {
				return nil, err
			}
			out = append(out, prepend(tr, sub)...)
			if len(out) >= explainMaxPaths {
				break
			}
		}
		return out, nil
	}
	switch ch := c.GetChildType().(type) {
	case *core.SetOperation_Child_XThis:
		return x.walkDirect(ctx, typ, id, rel, depth, onPath)
	case *core.SetOperation_Child_ComputedUserset:
		target := ch.ComputedUserset.GetRelation()
		ok, err := x.holds(ctx, typ, id, target)
		if err != nil || !ok {
			return nil, err
		}
		return x.walk(ctx, typ, id, target, depth+1, onPath)
	case *core.SetOperation_Child_TupleToUserset:
		return arrow(ch.TupleToUserset.GetTupleset().GetRelation(), ch.TupleToUserset.GetComputedUserset().GetRelation())
	case *core.SetOperation_Child_FunctionedTupleToUserset:
		return arrow(ch.FunctionedTupleToUserset.GetTupleset().GetRelation(), ch.FunctionedTupleToUserset.GetComputedUserset().GetRelation())
	case *core.SetOperation_Child_UsersetRewrite:
		return x.walkRewrite(ctx, typ, id, rel, ch.UsersetRewrite, depth, onPath)
	}
	return nil, nil
}
