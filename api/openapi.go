package api

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/client"
)

var ginParam = regexp.MustCompile(`[:*]([a-zA-Z_]+)`)

// openAPIPath turns a Gin path into an OpenAPI path: /a/:b -> /a/{b}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// openAPIDoc returns the OpenAPI 3.1 document of every route the router serves.
func (s *server) openAPIDoc() map[string]any {
	schemas := map[string]any{}
	paths := map[string]any{}
	errRef := schemaRef(reflect.TypeOf(client.ErrorBody{}), schemas)
	for _, rt := range s.routes {
		p := openAPIPath(rt.Path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(rt.Method)] = operation(rt, errRef, schemas)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Gatehouse", "version": s.Version, "description": "Zanzibar-style authorization for data platforms."},
		"paths":   paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
}

// operation documents one route: its parameters, body, success and every error answer.
func operation(rt route, errRef, schemas map[string]any) map[string]any {
	op := map[string]any{
		"summary":               rt.Summary,
		"operationId":           operationID(rt),
		"tags":                  []string{tag(rt.Path)},
		"description":           describe(rt),
		"x-gatehouse-operation": string(rt.Op),
	}
	if params := parameters(rt); params != nil {
		op["parameters"] = params
	}
	if rt.Request != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": schemaRef(reflect.TypeOf(rt.Request), schemas)}}}
	} else if rt.Path == importPath {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/x-ndjson": map[string]any{"schema": map[string]any{"type": "string"}}}}
	}
	ok := map[string]any{"description": http.StatusText(rt.Status)}
	switch {
	case rt.Produces != "":
		ok["content"] = map[string]any{rt.Produces: map[string]any{"schema": map[string]any{"type": "string"}}}
	case rt.Response != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaRef(reflect.TypeOf(rt.Response), schemas)}}
	}
	responses := map[string]any{itoa(rt.Status): ok}
	for _, f := range routeFailures(rt) {
		responses[itoa(f.Status)] = failureResponse(f, errRef, schemas)
	}
	op["responses"] = responses
	if !rt.Public {
		op["security"] = []any{map[string]any{"bearer": []string{}}}
	}
	return op
}

// parameters are a route's path parameters, then its query parameters.
func parameters(rt route) []any {
	var params []any
	for _, m := range ginParam.FindAllStringSubmatch(rt.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range rt.Query {
		params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
	}
	return params
}

// errorDescriptions explain each error status in the OpenAPI document.
var errorDescriptions = map[int]string{
	400: "Bad input, naming the field: a body that is empty, null, not a JSON object, or holds an unknown field, one the call does not have (a misspelled \"subjet\" or \"grant\" is refused, never ignored); an internal schema relation (reader_role, *_agents, open...) named as a permission.",
	401: "No token, or an invalid, expired or revoked one (or one whose parent is).",
	403: "Authenticated but not allowed: the message names the missing grant or role (permission_denied); the platform is not activated (not_activated); admin-only mode (admin_only); an agent relationship written outside pipeline creation (agent_link).",
	404: "Not found, or not visible to the caller.",
	409: "Conflict: already exists, in use, or the write would break an invariant: last_admin (it would remove the last platform admin, or an org's last admin), team_cycle (a team would contain itself; details.cycle names the cycle), bucket_in_use (a repo has one bucket config), precondition_failed.",
	429: "Too many failed authentications or logins from this client: retry after Retry-After seconds.",
	413: "The body is too large.",
	503: "A dependency (SpiceDB, the database, an OIDC issuer) is down: nothing is allowed until it answers.",
}

// failureResponse documents one error answer: what the status means and the codes the
// route answers with (also as x-gatehouse-codes, for tools).
func failureResponse(f failure, errRef map[string]any, schemas map[string]any) map[string]any {
	desc, body := errorDescriptions[f.Status], errRef
	if f.Body != nil {
		body = schemaRef(reflect.TypeOf(f.Body), schemas)
	}
	r := map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": body}}}
	if len(f.Codes) > 0 {
		desc += " Codes: " + strings.Join(f.Codes, ", ") + "."
		r["x-gatehouse-codes"] = f.Codes
	}
	r["description"] = desc
	return r
}

// describe is a route's OpenAPI description: its rules, operation and notes.
func describe(rt route) string {
	d := "Operation: " + string(rt.Op) + "."
	if rt.Rules != "" {
		d = "Rules: " + rt.Rules + ". " + d
	}
	if rt.Secret {
		d += " The answer carries a secret: Cache-Control: no-store."
	}
	if rt.Description != "" {
		d += " " + rt.Description
	}
	return d
}

func (s *server) openapi(c *gin.Context) { c.JSON(http.StatusOK, s.openAPIDoc()) }

func tag(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/api/"), "/")
	if len(parts) >= 2 && parts[0] == "v1" {
		return parts[1]
	}
	return parts[0]
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.FieldsFunc(rt.Path, func(r rune) bool { return r == '/' || r == '.' || r == '-' }) {
		if part == "api" || part == "v1" || strings.HasPrefix(part, ":") {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

var timeType = reflect.TypeOf(time.Time{})

// schemaRef returns a JSON schema for t, registering named structs in schemas.
func schemaRef(t reflect.Type, schemas map[string]any) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == reflect.TypeOf(client.Duration(0)):
		return map[string]any{"type": "string", "description": "Go duration, e.g. 1h"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaRef(t.Elem(), schemas)}
	case reflect.Map:
		return map[string]any{"type": "object"}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := t.Name()
		if _, done := schemas[name]; !done {
			schemas[name] = map[string]any{} // break cycles
			props := map[string]any{}
			var required []string
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				jname, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if jname == "-" {
					continue
				}
				if jname == "" {
					jname = f.Name
				}
				props[jname] = schemaRef(f.Type, schemas)
				if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
					required = append(required, jname)
				}
			}
			sch := map[string]any{"type": "object", "properties": props}
			if required != nil {
				sch["required"] = required
			}
			schemas[name] = sch
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}
