// Package deploy holds Gatehouse's Kubernetes manifests (MISSION D2): a kustomize base
// (Gatehouse, SpiceDB and its migration Job, a three-node CockroachDB), the dev and prod
// overlays, and the data-service side of ingress auth (C3) in ingress/. It has no Go code
// of its own: its test renders every overlay with kustomize's Go API and checks the
// objects, their references, the image pins, the security settings and that the ingress
// auth URL is a route Gatehouse serves. README.md says how to run it for real.
package deploy
