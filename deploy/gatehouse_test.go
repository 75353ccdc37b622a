package deploy

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/app"
)

// servedRoutes are the "METHOD /path" operations of Gatehouse's router, read from the
// OpenAPI document it serves (a test in api holds that document to the router).
func servedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	h := api.New(api.Deps{Registry: prometheus.NewRegistry(), Version: "deploy-test", Logger: slog.New(slog.DiscardHandler)}, api.Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	out := map[string]bool{}
	for p, ops := range doc.Paths {
		for method := range ops {
			out[strings.ToUpper(method)+" "+p] = true
		}
	}
	require.True(t, out["GET /healthz"], "the OpenAPI document lists the health route")
	return out
}

// checkIngresses (C3, D2): backends are Services and ports of the overlay; an auth-url
// names the Gatehouse Service and a GET route its router serves; the identity headers
// reach the backend; the original method and URI are set by nginx, not by the client.
func checkIngresses(t *testing.T, r *rendered) {
	served := servedRoutes(t)
	ings := r.ofKind("Ingress")
	require.NotEmpty(t, ings, "%s has a data-service Ingress", r.dir)
	for _, ing := range ings {
		for _, rule := range list(ing, "spec", "rules") {
			for _, p := range list(rule, "http", "paths") {
				be := m(p, "backend", "service")
				svc, ok := r.get("Service", ing.ns(), str(be, "name"))
				require.True(t, ok, "%s: backend Service %s does not exist in %s", ing.id(), str(be, "name"), ing.ns())
				port := str(be, "port", "name")
				if port == "" {
					port = jsonString(m(be, "port")["number"])
				}
				require.True(t, servicePort(svc, port), "%s: backend port %s is not a port of %s", ing.id(), port, svc.id())
			}
		}
		ann := m(ing, "metadata", "annotations")
		authURL, _ := ann["nginx.ingress.kubernetes.io/auth-url"].(string)
		require.NotEmpty(t, authURL, "%s: no nginx auth-url: the data service is unprotected", ing.id())
		u, err := url.Parse(authURL)
		require.NoError(t, err)
		host := strings.Split(u.Hostname(), ".")
		require.True(t, len(host) >= 3 && host[2] == "svc", "%s: auth-url host %q is not <service>.<namespace>.svc...", ing.id(), u.Hostname())
		gh, ok := r.get("Service", host[1], host[0])
		require.True(t, ok, "%s: auth-url names Service %s/%s, which does not exist", ing.id(), host[1], host[0])
		require.True(t, servicePort(gh, u.Port()), "%s: auth-url port %s is not a port of %s", ing.id(), u.Port(), gh.id())
		require.True(t, selectsGatehouse(r, gh), "%s: auth-url Service %s does not select Gatehouse's pods", ing.id(), gh.id())
		require.True(t, served["GET "+u.Path], "%s: auth-url path %s is not a GET route Gatehouse serves", ing.id(), u.Path)
		require.Equal(t, "GET", ann["nginx.ingress.kubernetes.io/auth-method"], "%s: auth-method", ing.id())

		headers, _ := ann["nginx.ingress.kubernetes.io/auth-response-headers"].(string)
		require.Contains(t, strings.Split(headers, ","), "X-Auth-Subject", "%s: auth-response-headers", ing.id())
		snippet, _ := ann["nginx.ingress.kubernetes.io/auth-snippet"].(string)
		for header, variable := range map[string]string{"X-Forwarded-Method": "$request_method", "X-Forwarded-Uri": "$request_uri"} {
			re := regexp.MustCompile(`(?m)^\s*proxy_set_header\s+` + regexp.QuoteMeta(header) + `\s+` + regexp.QuoteMeta(variable) + `\s*;`)
			require.Regexp(t, re, snippet, "%s: auth-snippet must set %s from %s (else the client's own header is forwarded)", ing.id(), header, variable)
		}
	}
}

func selectsGatehouse(r *rendered, svc obj) bool {
	dep, ok := r.get("Deployment", svc.ns(), "gatehouse")
	return ok && labelsMatch(m(svc, "spec", "selector"), m(dep, "spec", "template", "metadata", "labels"))
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestGatehouseWorkload (D2, issue 10.4, 10.5): in every overlay Gatehouse runs the image
// tag of the VERSION file, as a non-root user on a read-only root filesystem with no
// privilege escalation and no capabilities, with resources, probes on routes its router
// serves, and a config file its own flag parser accepts.
func TestGatehouseWorkload(t *testing.T) {
	served := servedRoutes(t)
	version, err := os.ReadFile("../VERSION")
	require.NoError(t, err)
	for _, dir := range overlays(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := render(t, dir)
			dep, ok := r.get("Deployment", "gatehouse", "gatehouse")
			require.True(t, ok, "Deployment gatehouse/gatehouse")
			pod := m(dep, "spec", "template", "spec")
			c := gatehouseContainer(t, pod)

			require.Equal(t, "ghcr.io/gatehouse-dev/gatehouse:"+strings.TrimSpace(string(version)), str(c, "image"),
				"the image tag is the VERSION file's (deploy/base/kustomization.yaml images:)")

			require.True(t, isBool(m(pod, "securityContext")["runAsNonRoot"], true), "pod runAsNonRoot")
			require.Positive(t, num(m(pod, "securityContext")["runAsUser"]), "pod runAsUser is set and not root")
			sc := m(c, "securityContext")
			require.True(t, isBool(sc["readOnlyRootFilesystem"], true), "readOnlyRootFilesystem: true")
			require.True(t, isBool(sc["allowPrivilegeEscalation"], false), "allowPrivilegeEscalation: false")
			require.Equal(t, []any{"ALL"}, list(sc, "capabilities", "drop"), "capabilities dropped")

			require.NotEmpty(t, str(c, "resources", "requests", "cpu"), "cpu request")
			require.NotEmpty(t, str(c, "resources", "requests", "memory"), "memory request")
			require.NotEmpty(t, str(c, "resources", "limits", "memory"), "memory limit")
			for probe, want := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
				p := str(c, probe, "httpGet", "path")
				require.Equal(t, want, p, probe)
				require.True(t, served["GET "+p], "%s %s is served by the router", probe, p)
			}
			checkGatehouseConfig(t, r, pod, c)
		})
	}
}

func gatehouseContainer(t *testing.T, pod map[string]any) map[string]any {
	for _, c := range list(pod, "containers") {
		if str(c.(map[string]any), "name") == "gatehouse" {
			return c.(map[string]any)
		}
	}
	t.Fatal("no container named gatehouse")
	return nil
}

// checkGatehouseConfig: `serve --config <file>` names a file of the mounted ConfigMap, the
// file's route table path is in the same mount, and Gatehouse's own flag parser and
// Validate accept the file (an unknown key or a bad value fails here, not at rollout).
func checkGatehouseConfig(t *testing.T, r *rendered, pod, c map[string]any) {
	args := list(c, "args")
	i := slices.Index(args, any("--config"))
	require.True(t, i >= 0 && i+1 < len(args), "gatehouse serve --config FILE, got %v", args)
	cfgPath := args[i+1].(string)
	cm := mountedConfigMap(t, r, pod, c, cfgPath)
	data := m(cm, "data")
	text, ok := data[path.Base(cfgPath)].(string)
	require.True(t, ok, "ConfigMap %s has no %s", cm.name(), path.Base(cfgPath))

	var settings map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(text), &settings))
	routes, _ := settings["ingress-routes"].(string)
	require.NotEmpty(t, routes, "config.yaml sets ingress-routes")
	require.Equal(t, path.Dir(cfgPath), path.Dir(routes), "ingress-routes is in the same mounted ConfigMap")
	routesText, ok := data[path.Base(routes)].(string)
	require.True(t, ok, "ConfigMap %s has no %s", cm.name(), path.Base(routes))

	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o600))
	routesFile := filepath.Join(dir, "ingress-routes.yaml")
	require.NoError(t, os.WriteFile(routesFile, []byte(routesText), 0o600))
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GATEHOUSE_") {
			t.Setenv(k, "")
			require.NoError(t, os.Unsetenv(k))
		}
	}
	setContainerEnv(t, c)
	cfg := app.DefaultConfig()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.BindFlags(fs)
	fs.String(app.ConfigFlag, "", "")
	// The table is read from where the test wrote it, not from /etc/gatehouse.
	require.NoError(t, fs.Set("ingress-routes", routesFile), "Gatehouse has the ingress-routes setting (C3)")
	require.NoError(t, app.ApplyEnvAndFile(fs, file), "config.yaml is accepted by gatehouse serve")
	require.NoError(t, cfg.Validate(), "config.yaml passes Gatehouse's Validate")
	checkRouteTable(t, cfg)
}

// secretPlaceholders stand for the values the operator puts in the Secrets, in the form
// Gatehouse expects; any other secret setting gets "placeholder".
var secretPlaceholders = map[string]string{
	"GATEHOUSE_DATABASE_URL": "postgres://gatehouse@cockroachdb-public:26257/gatehouse?sslmode=disable",
	"GATEHOUSE_SECRET_KEY":   base64.StdEncoding.EncodeToString([]byte("deploy-test-key-of-32-bytes-long")),
}

// setContainerEnv gives the test the container's environment: plain values as they are,
// required Secret keys as placeholders (optional ones stay unset, as when the key is absent).
func setContainerEnv(t *testing.T, c map[string]any) {
	for _, e := range list(c, "env") {
		env := e.(map[string]any)
		name := str(env, "name")
		if v, ok := env["value"].(string); ok {
			t.Setenv(name, v)
			continue
		}
		if ref := m(env, "valueFrom", "secretKeyRef"); ref != nil && ref["optional"] != true {
			v, ok := secretPlaceholders[name]
			if !ok {
				v = "placeholder"
			}
			t.Setenv(name, v)
		}
	}
}

// mountedConfigMap is the ConfigMap mounted at the directory of file in container c.
func mountedConfigMap(t *testing.T, r *rendered, pod, c map[string]any, file string) obj {
	for _, vm := range list(c, "volumeMounts") {
		if str(vm.(map[string]any), "mountPath") != path.Dir(file) {
			continue
		}
		for _, v := range list(pod, "volumes") {
			vol := v.(map[string]any)
			if str(vol, "name") == str(vm.(map[string]any), "name") {
				cm, ok := r.get("ConfigMap", "gatehouse", str(vol, "configMap", "name"))
				require.True(t, ok, "volume %s is a ConfigMap of the overlay", str(vol, "name"))
				return cm
			}
		}
	}
	t.Fatalf("no ConfigMap is mounted at %s", path.Dir(file))
	return nil
}

// TestDatastores (D2): SpiceDB runs on the three-node CockroachDB with rangefeeds on (its
// Watch needs them) and a `spicedb migrate` Job with SpiceDB's own image.
func TestDatastores(t *testing.T) {
	for _, dir := range overlays(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := render(t, dir)
			crdb, ok := r.get("StatefulSet", "gatehouse", "cockroachdb")
			require.True(t, ok)
			require.Equal(t, 3, num(m(crdb, "spec")["replicas"]), "three CockroachDB nodes")
			spicedb, ok := r.get("Deployment", "gatehouse", "spicedb")
			require.True(t, ok)
			sc := list(spicedb, "spec", "template", "spec", "containers")[0].(map[string]any)
			require.Contains(t, list(sc, "args"), any("--datastore-engine=cockroachdb"))

			var rangefeed, migrate bool
			for _, job := range r.ofKind("Job") {
				for _, c := range (podSpec{spec: m(job, "spec", "template", "spec")}).containers() {
					cmd := strings.Join(toStrings(append(list(c, "command"), list(c, "args")...)), " ")
					rangefeed = rangefeed || strings.Contains(cmd, "kv.rangefeed.enabled = true")
					if strings.HasPrefix(cmd, "spicedb migrate head") {
						migrate = true
						require.Equal(t, str(sc, "image"), str(c, "image"), "%s runs SpiceDB's image", job.id())
						require.Contains(t, cmd, "--datastore-engine=cockroachdb")
					}
				}
			}
			require.True(t, rangefeed, "a Job enables kv.rangefeed.enabled for SpiceDB's Watch")
			require.True(t, migrate, "a Job runs spicedb migrate head")
		})
	}
}

func toStrings(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// num is a decoded YAML integer (kustomize gives int, JSON float64); -1 if v is none.
func num(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return -1
}

// isBool reports whether v is the boolean want (set, not merely absent).
func isBool(v any, want bool) bool {
	b, ok := v.(bool)
	return ok && b == want
}
