package api

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/client"
)

// importPath is the one route that reads NDJSON, with its own body limit.
const importPath = "/api/v1/relationships/import"

// failure is an error answer a route can give: its status, the error codes it carries
// (client.ErrorDetail.Code) and, when it is not client.ErrorBody, the body's type.
type failure struct {
	Status int
	Codes  []string
	Body   any
}

func fail(status int, codes ...string) failure { return failure{Status: status, Codes: codes} }

// Route-specific failures, declared in the route table's Errors. The guard (guard/) and
// authz (authz/) name the codes; this is where the API says which route can meet which.
var (
	errNotFound       = fail(404, "not_found")
	errExists         = fail(409, "already_exists")
	errInUse          = fail(409, "in_use")
	errActivated      = fail(409, "already_activated")
	errLastAdmin      = fail(409, "last_admin")    // guard: P2, O2, O3
	errTeamCycle      = fail(409, "team_cycle")    // guard: O4
	errBucketInUse    = fail(409, "bucket_in_use") // guard: R4
	errPrecondition   = fail(409, "precondition_failed", "schema_conflict")
	errAgentLink      = fail(403, "agent_link")      // guard: PL3, PL4
	errStructuralLink = fail(403, "structural_link") // guard: O1, R4 (structural links stay with their object)
	errNoLogin        = fail(404, "login_not_configured", "not_found")
	errLoginRefused   = fail(401, "unauthenticated", "login_refused", "authorization_pending")
	errLoginLimited   = fail(429, "rate_limited", "slow_down")
	errIssuer         = fail(503, "issuer_unavailable", "unavailable")
	errUnavailable    = fail(503, "unavailable")
	errUnready        = failure{Status: 503, Body: client.StatusResponse{}}
)

// commonFailures are the answers every route of a kind can give, whatever it does:
// 400 for what it reads (a body, the query, the path), 413 for any body too large (every
// route has a body limit) and, behind a token, 401, 403, 429 and 503 (the token is
// verified against the store; admin-only mode and authz may refuse).
func commonFailures(rt route) []failure {
	var out []failure
	var bad []string
	if rt.Request != nil {
		bad = append(bad, "invalid_argument", "invalid_json", "invalid_body", "unsupported_content_type")
	} else if len(rt.Query) > 0 || len(ginParam.FindAllString(rt.Path, -1)) > 0 || rt.Path == importPath {
		bad = append(bad, "invalid_argument")
	}
	if bad != nil {
		out = append(out, fail(400, bad...))
	}
	out = append(out, fail(413, "body_too_large"))
	if !rt.Public {
		out = append(out, fail(401, "unauthenticated"), fail(403, "permission_denied", "not_activated", "admin_only"),
			fail(429, "rate_limited"), fail(503, "unavailable"))
	}
	return out
}

// routeFailures are every error answer of rt, one per status, codes merged and sorted.
func routeFailures(rt route) []failure {
	byStatus := map[int]*failure{}
	var statuses []int
	for _, f := range append(commonFailures(rt), rt.Errors...) {
		have := byStatus[f.Status]
		if have == nil {
			f.Codes = slices.Clone(f.Codes)
			byStatus[f.Status] = &f
			statuses = append(statuses, f.Status)
			continue
		}
		for _, c := range f.Codes {
			if !slices.Contains(have.Codes, c) {
				have.Codes = append(have.Codes, c)
			}
		}
		if f.Body != nil {
			have.Body = f.Body
		}
	}
	slices.Sort(statuses)
	out := make([]failure, 0, len(statuses))
	for _, s := range statuses {
		f := byStatus[s]
		slices.Sort(f.Codes)
		out = append(out, *f)
	}
	return out
}
