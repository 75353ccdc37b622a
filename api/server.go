// Package api is Gatehouse's HTTP edge: the Gin router, middleware, handlers, wire types,
// the one error-to-HTTP translator, and the OpenAPI document generated from the same
// route table that registers the handlers, so the two cannot drift.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/ingress"
	"github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/pipelines"
	"github.com/gatehouse-dev/gatehouse/platform"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/repos"
	"github.com/gatehouse-dev/gatehouse/roles"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Deps are the API's required collaborators.
type Deps struct {
	Engine   relations.Engine
	Tokens   *tokens.Service
	Platform *platform.Service
	Logger   *slog.Logger
	Registry *prometheus.Registry
	Version  string
	// ResourceTypes are the schema's API type names, for deactivation and unfiltered reads.
	ResourceTypes []string
	Orgs          *orgs.Service
	Audit         AuditLog
	Login         Login // nil when no OIDC issuer is configured
	// DatabaseReady, when set, must answer nil for /readyz to be ready (the database of
	// Gatehouse's tables).
	DatabaseReady func(context.Context) error
	// Authz decides every "may this caller do this"; nil: authz.New(Engine, Tokens).
	Authz *authz.Authorizer

	// Ingress (C3, h/ingress): the route table of GET /api/iam/v1/auth; nil denies
	// every request (403 no_route).
	Ingress *ingress.Table
	// Vendor vends temporary bucket credentials (B6, h/vend).
	Vendor *credentials.Vendor
	// Bucket configs and repos (api/buckets.go, api/repos.go); nil: their routes answer 503.
	Buckets *buckets.Service
	Repos   *repos.Service

	// Repo roles and pipelines (contract D2).
	Roles     *roles.Service
	Pipelines *pipelines.Service
}

// Options tune the API; zero values take defaults.
type Options struct {
	BodyLimit   int64 // bytes; default 1 MiB
	ImportLimit int64 // bytes for relationship import; default 64 MiB
	// AuthFailures failed authentications per client within AuthWindow get 429
	// (defaults 20 per minute).
	AuthFailures int
	AuthWindow   time.Duration

	// Ingress (C3, h/ingress): how long an ingress decision is cached; 0: not cached.
	IngressCacheTTL time.Duration
}

type server struct {
	Deps
	opts         Options
	log          *slog.Logger
	requests     *prometheus.CounterVec
	authFailures prometheus.Counter
	limiter      *failureLimiter
	routes       []route
	ingress      *ingressState // C3, h/ingress
}

// route is one entry of the route table: it registers a handler and documents it.
type route struct {
	Method, Path string // Gin path syntax (:param)
	Summary      string
	Rules        string   // MISSION.md rule IDs
	Public       bool     // no token needed
	Request      any      // request body type (nil: none)
	Response     any      // success body type (nil: none)
	Status       int      // success status
	Produces     string   // content type when not JSON
	Query        []string // query parameters
	Audit        string   // action recorded in the audit log for every call (AU1); "" for none
	// Op is the operation the route performs, decided by authz before the handler runs
	// (authz.OpPublic for routes without a token). A route without one fails a test, and
	// an Op authz does not know is denied.
	Op authz.Op
	// Secret: the answer carries a secret (a token): Cache-Control: no-store.
	Secret bool
	// Description adds to the OpenAPI description; Errors lists the error answers beyond
	// the common ones of every route (commonFailures: 400, 413, and 401, 403, 429, 503
	// behind a token), such as 404 and 409 with their codes. A test holds the OpenAPI
	// document to this table.
	Description string
	Errors      []failure
	handler     gin.HandlerFunc
	// ownAuth: the handler authenticates the token itself and asks authz about Op (the
	// ingress route reads a cookie too, and answers 401 with WWW-Authenticate).
	ownAuth bool
}

// New returns the HTTP handler of the API.
func New(d Deps, o Options) http.Handler {
	s := newServer(d, o)
	return s.router()
}

func newServer(d Deps, o Options) *server {
	if o.BodyLimit <= 0 {
		o.BodyLimit = 1 << 20
	}
	if o.ImportLimit <= 0 {
		o.ImportLimit = 64 << 20
	}
	if o.AuthFailures <= 0 {
		o.AuthFailures = 20
	}
	if o.AuthWindow <= 0 {
		o.AuthWindow = time.Minute
	}
	if d.Authz == nil {
		d.Authz = authz.New(d.Engine, d.Tokens)
	}
	s := &server{Deps: d, opts: o, log: d.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.requests, s.authFailures = newMetrics(d.Registry)
	s.limiter = newFailureLimiter(o.AuthFailures, o.AuthWindow)
	s.ingress = newIngressState(d, o)
	s.routes = s.routeTable()
	return s
}

func (s *server) router() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	_ = r.SetTrustedProxies(nil) // the client is the peer address; X-Forwarded-For is not trusted
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(s.requestContext(), recovery())
	r.NoRoute(func(c *gin.Context) {
		writeError(c, &appNotFound)
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, client.ErrorBody{Error: client.ErrorDetail{Code: "method_not_allowed", Message: "method not allowed on this route"}})
	})
	for _, rt := range s.routes {
		limit := s.opts.BodyLimit
		if rt.Path == importPath {
			limit = s.opts.ImportLimit
		}
		chain := []gin.HandlerFunc{bodyLimit(limit)}
		if rt.Secret {
			chain = append(chain, noStore)
		}
		if rt.Audit != "" {
			chain = append(chain, s.audited(rt.Audit))
		}
		if !rt.Public && !rt.ownAuth {
			chain = append(chain, s.authenticate(), s.authorize(rt.Op))
		}
		chain = append(chain, rt.handler)
		r.Handle(rt.Method, rt.Path, chain...)
	}
	return r
}

func (s *server) routeTable() []route {
	var routes []route
	// Each area has its own table (its method lives beside its handlers where it can).
	routes = append(routes, s.platformRoutes()...)
	routes = append(routes, s.identityRoutes()...)
	routes = append(routes, s.orgRoutes()...)
	routes = append(routes, s.checkRoutes()...)
	routes = append(routes, s.ingressRoutes()...) // C3, h/ingress
	routes = append(routes, s.bucketRoutes()...)
	routes = append(routes, s.repoRoutes()...)
	routes = append(routes, s.pipelineRoutes()...)   // repo roles, pipelines (contract D2)
	routes = append(routes, s.credentialRoutes()...) // credential vending (B6, h/vend)
	return routes
}

// platformRoutes: probes, metrics, the OpenAPI document, activation, platform admins,
// admin-only mode and robots.
func (s *server) platformRoutes() []route {
	metrics := gin.WrapH(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	return []route{
		// Platform (C4, P1-P4, ID3).
		{Method: "GET", Path: "/api/iam/version", Summary: "Server version", Rules: "C4", Public: true, Response: client.VersionResponse{}, Status: 200, Op: authz.OpPublic, handler: s.version},
		{Method: "GET", Path: "/api/iam/v1/ping", Summary: "Liveness ping", Rules: "C4", Public: true, Response: client.StatusResponse{}, Status: 200, Op: authz.OpPublic, handler: ping},
		{Method: "GET", Path: "/healthz", Summary: "Process health", Rules: "C4", Public: true, Response: client.StatusResponse{}, Status: 200, Op: authz.OpPublic, handler: ping},
		{Method: "GET", Path: "/readyz", Summary: "Ready while SpiceDB (and the database, if any) answer", Rules: "C4", Public: true, Response: client.StatusResponse{}, Status: 200, Op: authz.OpPublic, Errors: []failure{errUnready}, handler: s.ready},
		{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics", Rules: "C4", Public: true, Status: 200, Produces: "text/plain", Op: authz.OpPublic, handler: metrics},
		{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This OpenAPI document", Rules: "C4", Public: true, Status: 200, Response: map[string]any{}, Op: authz.OpPublic, handler: s.openapi},
		{Method: "POST", Path: "/api/v1/activate", Summary: "Activate the platform with its first admin", Rules: "P1", Public: true, Request: client.ActivateRequest{}, Response: client.ActivateResponse{}, Status: 201, Audit: "platform.activate", Op: authz.OpPublic, Secret: true, Errors: []failure{errActivated, errUnavailable}, handler: s.activate},
		{Method: "POST", Path: "/api/v1/deactivate", Summary: "Delete every relationship, token and admin", Rules: "P3", Request: client.DeactivateRequest{}, Response: client.StatusResponse{}, Status: 200, Audit: "platform.deactivate", Op: authz.OpPlatformAdmin, handler: s.deactivate},
		{Method: "GET", Path: "/api/v1/platform/admins", Summary: "List platform admins", Rules: "P2", Response: client.AdminsResponse{}, Status: 200, Op: authz.OpPlatformAdmin, handler: s.listAdmins},
		{Method: "PUT", Path: "/api/v1/platform/admins/:subject", Summary: "Appoint a platform admin", Rules: "P2", Response: client.SubjectResponse{}, Status: 200, Audit: "platform.admin.add", Op: authz.OpPlatformAdmin, Errors: []failure{errNotFound}, handler: s.addAdmin},
		{Method: "DELETE", Path: "/api/v1/platform/admins/:subject", Summary: "Remove a platform admin (never the last)", Rules: "P2", Response: client.SubjectResponse{}, Status: 200, Audit: "platform.admin.remove", Op: authz.OpPlatformAdmin, Errors: []failure{errNotFound, errLastAdmin}, handler: s.removeAdmin},
		{Method: "GET", Path: "/api/v1/platform/mode", Summary: "Read admin-only mode", Rules: "P4", Response: client.ModeBody{}, Status: 200, Op: authz.OpPlatformAdmin, handler: s.getMode},
		{Method: "PUT", Path: "/api/v1/platform/mode", Summary: "Switch admin-only mode", Rules: "P4", Request: client.ModeBody{}, Response: client.ModeBody{}, Status: 200, Audit: "platform.mode", Op: authz.OpPlatformAdmin, handler: s.setMode},
		{Method: "POST", Path: "/api/v1/robots", Summary: "Create a robot and its first token", Rules: "ID3", Request: client.RobotRequest{}, Response: client.MintResponse{}, Status: 201, Audit: "robot.create", Op: authz.OpPlatformAdmin, Secret: true, Errors: []failure{errExists}, handler: s.createRobot},
		{Method: "GET", Path: "/api/v1/robots", Summary: "List robots", Rules: "ID3", Response: client.RobotsResponse{}, Status: 200, Op: authz.OpPlatformAdmin, handler: s.listRobots},
		{Method: "DELETE", Path: "/api/v1/robots/:name", Summary: "Delete a robot, its tokens and relationships", Rules: "ID3", Response: client.SubjectResponse{}, Status: 200, Audit: "robot.delete", Op: authz.OpPlatformAdmin, Errors: []failure{errNotFound, errLastAdmin}, handler: s.deleteRobot},
	}
}

// identityRoutes: logins and tokens.
func (s *server) identityRoutes() []route {
	return []route{
		// Login (T1, T2).
		{Method: "GET", Path: "/api/v1/auth/issuers", Summary: "The OIDC issuers people can log in through", Rules: "T1", Public: true, Response: client.IssuersResponse{}, Status: 200, Op: authz.OpPublic, handler: s.listIssuers},
		{Method: "GET", Path: "/api/v1/auth/login", Summary: "Start a browser login (authorization code + PKCE): redirects to the issuer", Rules: "T1", Public: true, Query: []string{"issuer"}, Status: 302, Op: authz.OpPublic, Errors: []failure{errNoLogin, errIssuer}, handler: s.loginBrowser},
		{Method: "GET", Path: "/api/v1/auth/callback", Summary: "The issuer's redirect: finishes a browser login, or shows the code to copy", Rules: "T1", Public: true, Query: []string{"state", "code", "mode", "error"}, Response: client.LoginResponse{}, Status: 200, Audit: "login.browser", Op: authz.OpPublic, Secret: true, Errors: []failure{errNoLogin, errLoginRefused, errLoginLimited, errIssuer}, handler: s.loginCallback},
		{Method: "POST", Path: "/api/v1/auth/device", Summary: "Start a terminal login (device code, or copy the code)", Rules: "T1", Public: true, Request: client.IssuerRequest{}, Response: client.DeviceResponse{}, Status: 200, Op: authz.OpPublic, Errors: []failure{errNoLogin, errLoginLimited, errIssuer}, handler: s.loginDevice},
		{Method: "POST", Path: "/api/v1/auth/device/token", Summary: "Finish a terminal login: poll, or send the copied code", Rules: "T1", Public: true, Request: client.DeviceTokenRequest{}, Response: client.LoginResponse{}, Status: 200, Audit: "login.terminal", Op: authz.OpPublic, Secret: true, Errors: []failure{errNoLogin, errLoginRefused, errLoginLimited, errIssuer}, handler: s.loginDeviceToken},
		{Method: "POST", Path: "/api/v1/auth/exchange", Summary: "Exchange a trusted issuer's ID token for a Gatehouse token", Rules: "T2", Public: true, Request: client.ExchangeRequest{}, Response: client.LoginResponse{}, Status: 200, Audit: "login.exchange", Op: authz.OpPublic, Secret: true, Errors: []failure{errNoLogin, errLoginRefused, errLoginLimited, errIssuer}, handler: s.exchange},
		{Method: "POST", Path: "/api/v1/auth/refresh", Summary: "Refresh a session: a new token and a rotated refresh token", Rules: "T1", Public: true, Request: client.RefreshRequest{}, Response: client.LoginResponse{}, Status: 200, Audit: "login.refresh", Op: authz.OpPublic, Secret: true, Errors: []failure{errNoLogin, errLoginRefused, errLoginLimited, errIssuer}, handler: s.refresh},
		{Method: "POST", Path: "/api/v1/auth/logout", Summary: "Log out: revoke the session and the token making the request", Rules: "T1", Request: client.LogoutRequest{}, Response: client.StatusResponse{}, Status: 200, Audit: "logout", Op: authz.OpSelf, Errors: []failure{errNotFound}, handler: s.logout},

		// Tokens.
		{Method: "GET", Path: "/api/v1/whoami", Summary: "The caller, its orgs and token", Rules: "ID6", Response: client.WhoamiResponse{}, Status: 200, Op: authz.OpSelf, handler: s.whoami},
		{Method: "POST", Path: "/api/v1/tokens", Summary: "Mint a token for oneself, or (platform admins) for any subject", Rules: "T3 T4", Request: client.MintRequest{}, Response: client.MintResponse{}, Status: 201, Audit: "token.mint", Op: authz.OpTokenMint, Secret: true, Description: "A derived token never outlives its parent, the token making the request: expires_at is capped at the parent's expiry and capped:true says so; revoking, deleting or expiring the parent refuses it. Tokens with admin power (owner a platform or org admin, grants allowing administration) live at most the admin lifetime. A scoped token needs the manage function on token to mint, list or revoke tokens.", Errors: []failure{errNotFound}, handler: s.mintToken},
		{Method: "GET", Path: "/api/v1/tokens", Summary: "List one's own tokens (no secrets)", Rules: "T3", Response: client.TokensResponse{}, Status: 200, Op: authz.OpTokenList, Description: "A scoped token needs the manage function on token.", handler: s.listTokens},
		{Method: "DELETE", Path: "/api/v1/tokens/:id", Summary: "Revoke a token", Rules: "T3", Response: client.RevokeResponse{}, Status: 200, Audit: "token.revoke", Op: authz.OpTokenRevoke, Description: "A scoped token needs the manage function on token. Revoking a token refuses every token minted from it.", Errors: []failure{errNotFound}, handler: s.revokeToken},
	}
}

// orgRoutes: orgs, members, teams, API keys and the audit log.
func (s *server) orgRoutes() []route {
	return []route{
		// Orgs, members, teams, API keys (O1-O4, ID2).
		{Method: "POST", Path: "/api/v1/orgs", Summary: "Create an org (platform admins)", Rules: "O1", Request: client.OrgRequest{}, Response: client.Org{}, Status: 201, Audit: "org.create", Op: authz.OpOrgCreate, Errors: []failure{errExists}, handler: s.createOrg},
		{Method: "GET", Path: "/api/v1/orgs", Summary: "List the orgs the caller can see", Rules: "O1", Response: client.OrgsResponse{}, Status: 200, Op: authz.OpOrgList, handler: s.listOrgs},
		{Method: "GET", Path: "/api/v1/orgs/:org", Summary: "Get an org", Rules: "O1", Response: client.Org{}, Status: 200, Op: authz.OpOrgRead, Errors: []failure{errNotFound}, handler: s.getOrg},
		{Method: "PATCH", Path: "/api/v1/orgs/:org", Summary: "Switch repo access between members and acl_only", Rules: "O2", Request: client.OrgPatch{}, Response: client.Org{}, Status: 200, Audit: "org.update", Op: authz.OpOrgManage, Errors: []failure{errNotFound}, handler: s.patchOrg},
		{Method: "DELETE", Path: "/api/v1/orgs/:org", Summary: "Delete an org without repos", Rules: "O1", Response: client.DeletedResponse{}, Status: 200, Audit: "org.delete", Op: authz.OpOrgManage, Errors: []failure{errNotFound, errInUse}, handler: s.deleteOrg},
		{Method: "GET", Path: "/api/v1/orgs/:org/members", Summary: "List members and admins", Rules: "O3", Response: client.MembersResponse{}, Status: 200, Op: authz.OpOrgRead, Errors: []failure{errNotFound}, handler: s.listMembers},
		{Method: "PUT", Path: "/api/v1/orgs/:org/members/:email", Summary: "Add a person by email or change their role", Rules: "O3 ID1", Request: client.RoleBody{}, Response: client.Member{}, Status: 200, Audit: "org.member.set", Op: authz.OpOrgManage, Errors: []failure{errNotFound, errLastAdmin}, handler: s.setMember},
		{Method: "DELETE", Path: "/api/v1/orgs/:org/members/:email", Summary: "Remove a person from the org", Rules: "O3", Response: client.DeletedResponse{}, Status: 200, Audit: "org.member.remove", Op: authz.OpOrgManage, Errors: []failure{errNotFound, errLastAdmin}, handler: s.removeMember},
		{Method: "GET", Path: "/api/v1/orgs/:org/teams", Summary: "List teams", Rules: "O4", Response: client.TeamsResponse{}, Status: 200, Op: authz.OpTeamRead, Errors: []failure{errNotFound}, handler: s.listTeams},
		{Method: "PUT", Path: "/api/v1/orgs/:org/teams/:team", Summary: "Create a team", Rules: "O4", Response: client.TeamResponse{}, Status: 200, Audit: "team.create", Op: authz.OpTeamManage, Errors: []failure{errNotFound}, handler: s.putTeam},
		{Method: "DELETE", Path: "/api/v1/orgs/:org/teams/:team", Summary: "Delete a team and its grants", Rules: "O4", Response: client.DeletedResponse{}, Status: 200, Audit: "team.delete", Op: authz.OpTeamManage, Errors: []failure{errNotFound, errLastAdmin}, handler: s.deleteTeam},
		{Method: "PUT", Path: "/api/v1/orgs/:org/teams/:team/members/*subject", Summary: "Add a member (a user, robot, service account or team) to a team", Rules: "O4", Response: client.SubjectResponse{}, Status: 200, Audit: "team.member.add", Op: authz.OpTeamManage, Errors: []failure{errNotFound, errTeamCycle}, handler: s.putTeamMember},
		{Method: "DELETE", Path: "/api/v1/orgs/:org/teams/:team/members/*subject", Summary: "Remove a member from a team", Rules: "O4", Response: client.DeletedResponse{}, Status: 200, Audit: "team.member.remove", Op: authz.OpTeamManage, Errors: []failure{errNotFound}, handler: s.deleteTeamMember},
		{Method: "POST", Path: "/api/v1/orgs/:org/api-keys", Summary: "Create an API key (service account) and its token, shown once", Rules: "ID2", Request: client.APIKeyRequest{}, Response: client.NewAPIKey{}, Status: 201, Audit: "api_key.create", Op: authz.OpAPIKeyManage, Secret: true, Description: "The key is known by its id: a new key with an old name revives nothing minted from the old one.", Errors: []failure{errNotFound, errExists}, handler: s.createAPIKey},
		{Method: "GET", Path: "/api/v1/orgs/:org/api-keys", Summary: "List API keys (metadata only)", Rules: "ID2", Response: client.APIKeysResponse{}, Status: 200, Op: authz.OpAPIKeyManage, Errors: []failure{errNotFound}, handler: s.listAPIKeys},
		{Method: "DELETE", Path: "/api/v1/orgs/:org/api-keys/:name", Summary: "Delete an API key; refused at once", Rules: "ID2", Response: client.DeletedResponse{}, Status: 200, Audit: "api_key.delete", Op: authz.OpAPIKeyManage, Description: "Refuses the key and every token minted from it at once.", Errors: []failure{errNotFound, errLastAdmin}, handler: s.deleteAPIKey},
		{Method: "GET", Path: "/api/v1/audit", Summary: "Read the audit log", Rules: "AU1", Query: []string{paramOrg, "actor", "since", "limit"}, Response: client.AuditResponse{}, Status: 200, Op: authz.OpAuditRead, Errors: []failure{errNotFound}, handler: s.listAudit},
	}
}

// checkRoutes: checks and lookups, relationships and the schema.
func (s *server) checkRoutes() []route {
	return []route{
		// Checks (C1, C2).
		{Method: "POST", Path: "/api/v1/check", Summary: "Check one permission", Rules: "C1", Request: client.CheckRequest{}, Response: client.CheckResponse{}, Status: 200, Op: authz.OpCheck, Description: "permission is one of the resource type's permissions (read, write, delete, manage_acl, manage, create_repo, super_admin); internal relations of the schema are refused with 400.", handler: s.check},
		{Method: "POST", Path: "/api/v1/check/bulk", Summary: "Check many permissions", Rules: "C2", Request: client.BulkRequest{}, Response: client.BulkResponse{}, Status: 200, Op: authz.OpCheck, handler: s.checkBulk},
		{Method: "POST", Path: "/api/v1/lookup/resources", Summary: "Which resources can a subject reach", Rules: "C2", Request: client.LookupResourcesRequest{}, Response: client.LookupResourcesResponse{}, Status: 200, Op: authz.OpCheck, handler: s.lookupResources},
		{Method: "POST", Path: "/api/v1/lookup/subjects", Summary: "Which subjects hold a permission", Rules: "C2", Request: client.LookupSubjectsRequest{}, Response: client.LookupSubjectsResponse{}, Status: 200, Op: authz.OpCheck, handler: s.lookupSubjects},
		{Method: "POST", Path: "/api/v1/explain", Summary: "Why a subject holds a permission", Rules: "C2", Request: client.CheckRequest{}, Response: client.ExplainResponse{}, Status: 200, Op: authz.OpCheck, handler: s.explain},

		// Relationships and schema (A1, A2).
		{Method: "GET", Path: "/api/v1/relationships", Summary: "Read relationships", Rules: "A1", Query: []string{"resource", "relation", "subject"}, Response: client.RelationshipsResponse{}, Status: 200, Op: authz.OpRelationshipRead, handler: s.readRelationships},
		{Method: "POST", Path: "/api/v1/relationships", Summary: "Write and delete relationships atomically, with preconditions", Rules: "A1", Request: client.WriteRequest{}, Response: client.WriteResponse{}, Status: 200, Audit: "relationship.write", Op: authz.OpRelationshipWrite, Errors: []failure{errPrecondition, errLastAdmin, errTeamCycle, errBucketInUse, errAgentLink, errPipelineLink, errStructuralLink}, handler: s.writeRelationships},
		{Method: "GET", Path: "/api/v1/relationships/export", Summary: "Export every relationship as NDJSON", Rules: "A1", Status: 200, Produces: "application/x-ndjson", Op: authz.OpRelationshipRead, handler: s.exportRelationships},
		{Method: "POST", Path: "/api/v1/relationships/import", Summary: "Import NDJSON relationships (idempotent)", Rules: "A1", Response: client.ImportResponse{}, Status: 200, Audit: "relationship.import", Op: authz.OpRelationshipWrite, Description: "One {\"relationship\":\"...\"} per line; every error names the line of the body it is about (field \"line N\", or details.field for bucket_in_use), the guard's refusals included.", Errors: []failure{errTeamCycle, errBucketInUse, errAgentLink, errPipelineLink}, handler: s.importRelationships},
		{Method: "GET", Path: "/api/v1/schema", Summary: "The policy schema in force", Rules: "A2", Response: client.SchemaResponse{}, Status: 200, Op: authz.OpSchemaRead, handler: s.getSchema},
		{Method: "POST", Path: "/api/v1/schema/validate", Summary: "Validate a schema or a validation file", Rules: "A2", Request: client.ValidateRequest{}, Response: client.ValidateResponse{}, Status: 200, Op: authz.OpSchemaRead, handler: s.validateSchema},
	}
}

// ready answers 200 while SpiceDB answers, 503 otherwise.
func (s *server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	if err := s.Engine.Ready(ctx); err != nil {
		c.JSON(http.StatusServiceUnavailable, client.StatusResponse{Status: "unavailable"})
		return
	}
	if s.DatabaseReady != nil {
		if err := s.DatabaseReady(ctx); err != nil {
			c.JSON(http.StatusServiceUnavailable, client.StatusResponse{Status: "unavailable"})
			return
		}
	}
	c.JSON(http.StatusOK, client.StatusResponse{Status: "ok"})
}

func ping(c *gin.Context) { c.JSON(http.StatusOK, client.StatusResponse{Status: "ok"}) }

func (s *server) version(c *gin.Context) {
	c.JSON(http.StatusOK, client.VersionResponse{Version: s.Version})
}

// Path and query parameters the routes share. They name the API's URL parts; that "org"
// is also a schema type is a coincidence the code does not rely on.
const (
	paramOrg  = "org"
	paramTeam = "team"
)

// pathParam returns a path parameter without surrounding slashes.
func pathParam(c *gin.Context, name string) string {
	return strings.Trim(c.Param(name), "/")
}
