package relations

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// mapError translates a gRPC error from SpiceDB into the package's error kinds. method
// names the call for ErrUnavailable messages; write selects precondition semantics for
// FailedPrecondition and AlreadyExists.
func mapError(method string, err error, write bool) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrPrecondition) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrSchemaConflict) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %s: %w", ErrUnavailable, method, err)
		}
		return fmt.Errorf("%w: %s: connection failure", ErrUnavailable, method)
	}
	return mapStatus(method, st, write)
}

func errorReason(st *status.Status) (v1.ErrorReason, map[string]string) {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if r, ok := v1.ErrorReason_value[info.GetReason()]; ok {
				return v1.ErrorReason(r), info.GetMetadata()
			}
		}
	}
	return v1.ErrorReason_ERROR_REASON_UNSPECIFIED, nil
}

func mapStatus(method string, st *status.Status, write bool) error {
	reason, _ := errorReason(st)
	switch reason {
	case v1.ErrorReason_ERROR_REASON_WRITE_OR_DELETE_PRECONDITION_FAILURE,
		v1.ErrorReason_ERROR_REASON_ATTEMPT_TO_RECREATE_RELATIONSHIP:
		return fmt.Errorf("%w: %s", ErrPrecondition, st.Message())
	case v1.ErrorReason_ERROR_REASON_UNKNOWN_DEFINITION,
		v1.ErrorReason_ERROR_REASON_UNKNOWN_RELATION_OR_PERMISSION,
		v1.ErrorReason_ERROR_REASON_SCHEMA_PARSE_ERROR,
		v1.ErrorReason_ERROR_REASON_SCHEMA_TYPE_ERROR,
		v1.ErrorReason_ERROR_REASON_INVALID_SUBJECT_TYPE,
		v1.ErrorReason_ERROR_REASON_WILDCARD_NOT_ALLOWED,
		v1.ErrorReason_ERROR_REASON_CANNOT_UPDATE_PERMISSION,
		v1.ErrorReason_ERROR_REASON_UPDATES_ON_SAME_RELATIONSHIP,
		v1.ErrorReason_ERROR_REASON_TOO_MANY_UPDATES_IN_REQUEST,
		v1.ErrorReason_ERROR_REASON_TOO_MANY_PRECONDITIONS_IN_REQUEST,
		v1.ErrorReason_ERROR_REASON_TOO_MANY_CHECKS_IN_REQUEST,
		v1.ErrorReason_ERROR_REASON_EXCEEDS_MAXIMUM_ALLOWABLE_LIMIT,
		v1.ErrorReason_ERROR_REASON_INVALID_FILTER,
		v1.ErrorReason_ERROR_REASON_EMPTY_PRECONDITION,
		v1.ErrorReason_ERROR_REASON_UNKNOWN_CAVEAT,
		v1.ErrorReason_ERROR_REASON_INVALID_CURSOR,
		v1.ErrorReason_ERROR_REASON_MAX_RELATIONSHIP_CONTEXT_SIZE,
		v1.ErrorReason_ERROR_REASON_MAXIMUM_DEPTH_EXCEEDED:
		return fmt.Errorf("%w: %s", ErrInvalid, st.Message())
	}
	switch st.Code() {
	case codes.InvalidArgument, codes.NotFound, codes.OutOfRange:
		return fmt.Errorf("%w: %s", ErrInvalid, st.Message())
	case codes.FailedPrecondition, codes.AlreadyExists:
		if write {
			return fmt.Errorf("%w: %s", ErrPrecondition, st.Message())
		}
		return fmt.Errorf("%w: %s", ErrInvalid, st.Message())
	default:
		// Unavailable, DeadlineExceeded, Internal, Unknown, Aborted, ResourceExhausted,
		// Unauthenticated, PermissionDenied...: the engine is not usable. Keep the
		// driver's text out of the message.
		return fmt.Errorf("%w: %s: %s", ErrUnavailable, method, strings.ToLower(st.Code().String()))
	}
}

// isSchemaConflict reports whether a WriteSchema failure is SpiceDB refusing to orphan
// stored relationships.
func isSchemaConflict(err error) (string, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return "", false
	}
	_, md := errorReason(st)
	msg := st.Message()
	if md["operation"] != "" || strings.Contains(msg, "relationship exists") || strings.Contains(msg, "at least one relationship") {
		return msg, true
	}
	return "", false
}
