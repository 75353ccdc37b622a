package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// P4: once the licence has expired only platform admins get any access; nothing is lost.
func TestP4LicenceExpiryIsAdminOnly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		expires  time.Time
		robotGet int
	}{
		{"expired", time.Now().Add(-time.Hour), 403},
		{"valid", time.Now().Add(time.Hour), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{backend: "embedded", s: harness.StartGatehouse(t, "--licence-expires", tc.expires.UTC().Format(time.RFC3339))}
			var act struct{ Token string }
			e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
			e.json(t, "GET", "/api/v1/whoami", act.Token, nil, 200, nil)
			var robot struct{ Token string }
			e.json(t, "POST", "/api/v1/robots", act.Token, map[string]string{"name": "ci"}, 201, &robot)
			status, body := e.do(t, "GET", "/api/v1/whoami", robot.Token, nil)
			require.Equal(t, tc.robotGet, status, "%s", body)
			if status == 403 {
				require.Contains(t, string(body), `"code":"admin_only"`)
				require.Contains(t, string(body), "licence")
			}
		})
	}
}
