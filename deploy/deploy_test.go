package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// obj is one rendered Kubernetes object.
type obj map[string]any

func (o obj) kind() string { return str(o, "kind") }
func (o obj) name() string { return str(o, "metadata", "name") }
func (o obj) ns() string   { return str(o, "metadata", "namespace") }
func (o obj) id() string   { return o.kind() + " " + o.ns() + "/" + o.name() }

// rendered is one overlay, rendered, with lookups by kind and namespace/name.
type rendered struct {
	dir  string
	objs []obj
	by   map[string]obj // "Kind ns/name"
}

func (r *rendered) get(kind, ns, name string) (obj, bool) {
	o, ok := r.by[kind+" "+ns+"/"+name]
	return o, ok
}

func (r *rendered) ofKind(kinds ...string) []obj {
	var out []obj
	for _, o := range r.objs {
		if slices.Contains(kinds, o.kind()) {
			out = append(out, o)
		}
	}
	return out
}

// overlays are the directories under overlays/, each a kustomization to apply.
func overlays(t *testing.T) []string {
	dirs, err := filepath.Glob("overlays/*/kustomization.yaml")
	require.NoError(t, err)
	var out []string
	for _, d := range dirs {
		out = append(out, filepath.Dir(d))
	}
	require.Subset(t, out, []string{"overlays/dev", "overlays/prod"}, "the dev and prod overlays exist")
	return out
}

// render builds dir with kustomize's Go API, as `kubectl apply -k dir` would.
func render(t *testing.T, dir string) *rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	r := &rendered{dir: dir, by: map[string]obj{}}
	for _, res := range resMap.Resources() {
		m, err := res.Map()
		require.NoError(t, err)
		o := obj(m)
		require.NotContains(t, r.by, o.id(), "%s: %s rendered twice", dir, o.id())
		r.objs = append(r.objs, o)
		r.by[o.id()] = o
	}
	return r
}

// TestOverlaysRender (D2): every overlay renders, and every object in it is well formed,
// lives in a namespace the overlay creates, and refers only to objects that exist (or,
// for Secrets, that deploy/base/gatehouse/secrets.example.yaml declares the operator
// creates).
func TestOverlaysRender(t *testing.T) {
	for _, dir := range overlays(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := render(t, dir)
			require.NotEmpty(t, r.objs)
			checkWellFormed(t, r)
			checkWorkloadRefs(t, r, externalSecrets(t))
			checkServices(t, r)
			checkIngresses(t, r)
		})
	}
}

var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// clusterScoped are the kinds these manifests use that live outside namespaces.
var clusterScoped = []string{"Namespace"}

func checkWellFormed(t *testing.T, r *rendered) {
	for _, o := range r.objs {
		require.NotEmpty(t, str(o, "apiVersion"), "%s: apiVersion", o.id())
		require.NotEmpty(t, o.kind(), "an object without kind: %v", o)
		require.Regexp(t, dnsName, o.name(), "%s: metadata.name", o.id())
		require.LessOrEqual(t, len(o.name()), 253, "%s: name too long", o.id())
		if slices.Contains(clusterScoped, o.kind()) {
			require.Empty(t, o.ns(), "%s is cluster-scoped", o.id())
			continue
		}
		require.NotEmpty(t, o.ns(), "%s: no namespace", o.id())
		_, ok := r.get("Namespace", "", o.ns())
		require.True(t, ok, "%s: namespace %s is not created by %s", o.id(), o.ns(), r.dir)
	}
}

// podSpec is a workload's pod template: spec.template.spec for Deployment, StatefulSet
// and Job.
type podSpec struct {
	owner  obj
	labels map[string]any
	spec   map[string]any
}

func (r *rendered) pods() []podSpec {
	var out []podSpec
	for _, o := range r.ofKind("Deployment", "StatefulSet", "Job", "DaemonSet") {
		tmpl := m(o, "spec", "template")
		out = append(out, podSpec{owner: o, labels: m(tmpl, "metadata", "labels"), spec: m(tmpl, "spec")})
	}
	return out
}

func (p podSpec) containers() []map[string]any {
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		for _, c := range list(p.spec, key) {
			out = append(out, c.(map[string]any))
		}
	}
	return out
}

// secretKeys is the set of keys of each Secret the operator creates, by "ns/name".
type secretKeys map[string][]string

// externalSecrets reads secrets.example.yaml: the Secrets the manifests reference but do
// not hold (their values are the operator's), with their keys.
func externalSecrets(t *testing.T) secretKeys {
	data, err := os.ReadFile("base/gatehouse/secrets.example.yaml")
	require.NoError(t, err)
	out := secretKeys{}
	for _, doc := range strings.Split(string(data), "\n---") {
		var o obj
		require.NoError(t, yaml.Unmarshal([]byte(doc), &o))
		if o == nil {
			continue
		}
		require.Equal(t, "Secret", o.kind(), "secrets.example.yaml holds Secrets only")
		for k := range m(o, "stringData") {
			out[o.ns()+"/"+o.name()] = append(out[o.ns()+"/"+o.name()], k)
		}
	}
	require.NotEmpty(t, out)
	return out
}

func checkWorkloadRefs(t *testing.T, r *rendered, ext secretKeys) {
	for _, p := range r.pods() {
		id, ns := p.owner.id(), p.owner.ns()
		if sa := str(p.spec, "serviceAccountName"); sa != "" {
			_, ok := r.get("ServiceAccount", ns, sa)
			require.True(t, ok, "%s: ServiceAccount %s does not exist", id, sa)
		}
		for _, v := range list(p.spec, "volumes") {
			vol := v.(map[string]any)
			if cm := str(vol, "configMap", "name"); cm != "" {
				_, ok := r.get("ConfigMap", ns, cm)
				require.True(t, ok, "%s: volume's ConfigMap %s does not exist", id, cm)
			}
			if s := str(vol, "secret", "secretName"); s != "" {
				requireSecret(t, r, ext, id, ns, s, "", false)
			}
		}
		for _, c := range p.containers() {
			checkImage(t, id, str(c, "image"))
			for _, e := range list(c, "env") {
				env := e.(map[string]any)
				if ref := m(env, "valueFrom", "secretKeyRef"); ref != nil {
					optional, _ := ref["optional"].(bool)
					requireSecret(t, r, ext, id, ns, str(ref, "name"), str(ref, "key"), optional)
				}
				if ref := m(env, "valueFrom", "configMapKeyRef"); ref != nil {
					cm, ok := r.get("ConfigMap", ns, str(ref, "name"))
					require.True(t, ok, "%s: env %s: ConfigMap %s does not exist", id, str(env, "name"), str(ref, "name"))
					require.Contains(t, m(cm, "data"), str(ref, "key"), "%s: env %s", id, str(env, "name"))
				}
			}
			checkProbePorts(t, id, c)
		}
	}
}

func requireSecret(t *testing.T, r *rendered, ext secretKeys, id, ns, name, key string, optional bool) {
	t.Helper()
	if s, ok := r.get("Secret", ns, name); ok {
		if key != "" && !optional {
			_, inData := m(s, "data")[key]
			_, inString := m(s, "stringData")[key]
			require.True(t, inData || inString, "%s: Secret %s has no key %s", id, name, key)
		}
		return
	}
	keys, declared := ext[ns+"/"+name]
	require.True(t, declared, "%s: Secret %s/%s is neither rendered nor declared in secrets.example.yaml", id, ns, name)
	if key != "" && !optional {
		require.Contains(t, keys, key, "%s: Secret %s/%s: key %s is not in secrets.example.yaml", id, ns, name, key)
	}
}

// checkImage (issue 10.4): every image is pinned by a tag that is not latest, or by digest.
func checkImage(t *testing.T, id, image string) {
	t.Helper()
	require.NotEmpty(t, image, "%s: a container without image", id)
	if strings.Contains(image, "@sha256:") {
		return
	}
	last := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(last, ":")
	require.True(t, i > 0 && i < len(last)-1, "%s: image %q has no tag: pin it (deploy/base/kustomization.yaml images:)", id, image)
	require.NotEqual(t, "latest", last[i+1:], "%s: image %q is :latest: pin a version", id, image)
}

// checkProbePorts: probes on named ports name one the container declares.
func checkProbePorts(t *testing.T, id string, c map[string]any) {
	t.Helper()
	ports := map[string]bool{}
	for _, p := range list(c, "ports") {
		ports[str(p.(map[string]any), "name")] = true
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		for _, kind := range []string{"httpGet", "tcpSocket"} {
			if port, ok := m(c, probe, kind)["port"].(string); ok {
				require.True(t, ports[port], "%s: %s %s names port %q, not declared", id, str(c, "name"), probe, port)
			}
		}
	}
}

// externalPods are Services whose pods are not in these manifests, and why.
var externalPods = map[string]string{
	"chunkstore/chunkstore": "the protected data service's own Deployment (deploy/ingress/service.yaml)",
}

// checkServices: each Service selects the pods of a workload in its namespace (or is
// declared to front pods deployed elsewhere), and each named targetPort is a port those
// pods declare; a StatefulSet's serviceName is a headless Service.
func checkServices(t *testing.T, r *rendered) {
	for _, svc := range r.ofKind("Service") {
		sel := m(svc, "spec", "selector")
		require.NotEmpty(t, sel, "%s: no selector", svc.id())
		if _, ok := externalPods[svc.ns()+"/"+svc.name()]; ok {
			continue
		}
		var matched []podSpec
		for _, p := range r.pods() {
			if p.owner.ns() == svc.ns() && p.owner.kind() != "Job" && labelsMatch(sel, p.labels) {
				matched = append(matched, p)
			}
		}
		require.NotEmpty(t, matched, "%s: selector %v matches no workload's pods", svc.id(), sel)
		for _, sp := range list(svc, "spec", "ports") {
			target, ok := sp.(map[string]any)["targetPort"].(string)
			if !ok {
				continue
			}
			for _, p := range matched {
				require.True(t, declaresPort(p, target), "%s: targetPort %q is not a port of %s", svc.id(), target, p.owner.id())
			}
		}
	}
	for _, ss := range r.ofKind("StatefulSet") {
		svc, ok := r.get("Service", ss.ns(), str(ss, "spec", "serviceName"))
		require.True(t, ok, "%s: serviceName %s does not exist", ss.id(), str(ss, "spec", "serviceName"))
		require.Equal(t, "None", str(svc, "spec", "clusterIP"), "%s: its Service must be headless", ss.id())
	}
}

func labelsMatch(selector, labels map[string]any) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func declaresPort(p podSpec, name string) bool {
	for _, c := range p.containers() {
		for _, port := range list(c, "ports") {
			if str(port.(map[string]any), "name") == name {
				return true
			}
		}
	}
	return false
}

// servicePort reports whether Service svc has a port with this name or number.
func servicePort(svc obj, nameOrNumber string) bool {
	for _, p := range list(svc, "spec", "ports") {
		port := p.(map[string]any)
		if str(port, "name") == nameOrNumber || fmt.Sprint(port["port"]) == nameOrNumber {
			return true
		}
	}
	return false
}

// Helpers to walk decoded YAML.

func m(v any, path ...string) map[string]any {
	if o, ok := v.(obj); ok {
		v = map[string]any(o)
	}
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	mm, _ := v.(map[string]any)
	return mm
}

func str(v any, path ...string) string {
	last := path[len(path)-1]
	s, _ := m(v, path[:len(path)-1]...)[last].(string)
	return s
}

func list(v any, path ...string) []any {
	last := path[len(path)-1]
	l, _ := m(v, path[:len(path)-1]...)[last].([]any)
	return l
}
