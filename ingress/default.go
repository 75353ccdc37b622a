package ingress

import (
	_ "embed"
)

//go:embed default_routes.yaml
var defaultRoutes []byte

// DefaultName names the built-in table in errors and logs.
const DefaultName = "built-in default_routes.yaml"

// Default returns the built-in route table: API.md's example, GET and HEAD under
// /repos/{org}/{repo}/ need read, PUT needs write, and nothing else matches.
func Default() *Table {
	t, err := Parse(DefaultName, defaultRoutes)
	if err != nil {
		panic("ingress: the built-in route table is invalid: " + err.Error()) // a test holds it valid
	}
	return t
}
