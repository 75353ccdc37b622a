package api

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// The guard's 0-based relationships[i] becomes the body's "line N" (issue 8.5), in Field
// and details.field, without changing the guard's own error value; anything else stays.
func TestImportErrorNamesLines(t *testing.T) {
	lines := []int{1, 3, 7}
	guardErr := apperr.New(apperr.Forbidden, "agent_link", "refused")
	guardErr.Field = "relationships[2].relationship"
	err := importError(guardErr, nil, lines)
	require.Equal(t, "line 7", toAppErr(err).Field)
	require.Equal(t, "agent_link", toAppErr(err).Code)
	require.Equal(t, "relationships[2].relationship", guardErr.Field, "the guard's error is not mutated")

	bucket := apperr.New(apperr.Conflict, "bucket_in_use", "x").WithDetails("field", "relationships[0].relationship")
	err = importError(bucket, nil, lines)
	require.Equal(t, "line 1", toAppErr(err).Details["field"])
	require.Equal(t, "relationships[0].relationship", bucket.Details["field"])

	for _, f := range []string{"relationships[3].relationship", "updates[0].relationship", "filter", "", "relationships[-1].relationship"} {
		e := apperr.New(apperr.Conflict, "last_admin", "x")
		e.Field = f
		require.Equal(t, f, toAppErr(importError(e, nil, lines)).Field, f)
	}
}
