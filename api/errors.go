package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
)

var kindStatus = map[apperr.Kind]int{
	apperr.Internal:        http.StatusInternalServerError,
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.TooLarge:        http.StatusRequestEntityTooLarge,
	apperr.RateLimited:     http.StatusTooManyRequests,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	apperr.NotActivated:    http.StatusForbidden,
}

// toAppErr turns any error into an *apperr.Error: domain errors pass through, engine
// errors get their kind, anything else is Internal with a generic message.
func toAppErr(err error) *apperr.Error {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, relations.ErrInvalid):
		return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_argument", Message: err.Error(), Err: err}
	case errors.Is(err, relations.ErrPrecondition):
		return &apperr.Error{Kind: apperr.Conflict, Code: "precondition_failed", Message: err.Error(), Err: err}
	case errors.Is(err, relations.ErrSchemaConflict):
		return &apperr.Error{Kind: apperr.Conflict, Code: "schema_conflict", Message: err.Error(), Err: err}
	case errors.Is(err, relations.ErrUnavailable):
		return &apperr.Error{Kind: apperr.Unavailable, Code: "unavailable", Message: "the permission engine is unavailable; nothing is allowed until it answers", Err: err}
	}
	return &apperr.Error{Kind: apperr.Internal, Code: "internal", Message: "internal error", Err: err}
}

// writeError is the one error translator at the edge.
func writeError(c *gin.Context, err error) {
	ae := toAppErr(err)
	status := kindStatus[ae.Kind]
	msg := ae.Message
	if ae.Kind == apperr.Internal {
		msg = "internal error"
	}
	if status >= 500 {
		logger(c).Error("request failed", slog.String("code", ae.Code), slog.Any("err", err))
	}
	c.AbortWithStatusJSON(status, client.ErrorBody{Error: client.ErrorDetail{Code: ae.Code, Message: msg, Field: ae.Field, Details: ae.Details}})
}
