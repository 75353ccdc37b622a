package tests

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/client"
)

// bucketConfigs creates org (when absent) and one self_managed bucket config per nickname
// (s3://<org>-<nickname>-data), as the admin: a raw repo#bucket write must name a stored
// config of the repo's org (R4).
func (e *env) bucketConfigs(t *testing.T, org string, nicknames ...string) {
	t.Helper()
	if status, _ := e.do(t, "GET", "/api/v1/orgs/"+org, e.admin, nil); status == 404 {
		e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": org}, 201, nil)
	}
	for _, n := range nicknames {
		e.json(t, "POST", "/api/v1/orgs/"+org+"/buckets", e.admin, client.BucketRequest{
			Nickname: n, URI: "s3://" + org + "-" + n + "-data", Auth: client.BucketAuth{Type: "self_managed"},
		}, 201, nil)
	}
}

// ptrTo returns a pointer to v (the optional fields of patch bodies).
func ptrTo[T any](v T) *T { return &v }
