package deploy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/ingress"
)

// checkRouteTable: the ConfigMap's route table loads with Gatehouse's own loader (C3): a
// table Gatehouse would refuse at start fails here.
func checkRouteTable(t *testing.T, cfg app.Config) {
	t.Helper()
	_, err := ingress.Load(cfg.IngressRoutes)
	require.NoError(t, err, "the ConfigMap's ingress-routes.yaml")
}
