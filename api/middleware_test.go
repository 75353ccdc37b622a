package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// A panic in a handler becomes a generic 500 that reveals nothing of it.
func TestRecoveryAnswersGeneric500(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(recovery())
	r.GET("/boom", func(*gin.Context) { panic("secret internal detail") })
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.JSONEq(t, `{"error":{"code":"internal","message":"internal error"}}`, rec.Body.String())
	require.NotContains(t, rec.Body.String(), "secret")
}

// Bodies over the limit are refused with 413 before the handler reads them.
func TestBodyLimit(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/x", bodyLimit(16), func(c *gin.Context) {
		var v map[string]any
		if bind(c, &v) {
			c.Status(http.StatusNoContent)
		}
	})
	for _, tc := range []struct {
		body string
		want int
	}{{`{"a":1}`, http.StatusNoContent}, {`{"a":"` + strings.Repeat("x", 64) + `"}`, http.StatusRequestEntityTooLarge}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		r.ServeHTTP(rec, req)
		require.Equal(t, tc.want, rec.Code, rec.Body.String())
	}
}
