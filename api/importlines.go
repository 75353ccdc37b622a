package api

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
)

// guardImportField is how the guard names the i-th (0-based) relationship of an import.
var guardImportField = regexp.MustCompile(`^relationships\[(\d+)\]\.relationship$`)

// importError names a refused import by the line of the NDJSON body it is about, the
// way the import route names its own errors ("line N"): the guard names the parsed
// relationship i (relationships[i].relationship, in Field or details.field), SpiceDB
// names a type and relation. lines[i] is the line relationship i was read from.
func importError(err error, rels []relations.Relationship, lines []int) error {
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		if !errors.Is(err, relations.ErrInvalid) {
			return err
		}
		updates := make([]relations.Update, len(rels))
		for i, r := range rels {
			updates[i] = relations.Update{Operation: relations.OpTouch, Relationship: r}
		}
		if i := blame(err.Error(), updates); i >= 0 {
			return apperr.InvalidField(lineField(lines[i]), "%s", strings.TrimPrefix(err.Error(), "invalid: "))
		}
		return err
	}
	out := *ae
	if f, ok := importLine(ae.Field, lines); ok {
		out.Field = f
	}
	if s, ok := ae.Details["field"].(string); ok {
		if f, ok := importLine(s, lines); ok {
			out.Details = maps.Clone(ae.Details)
			out.Details["field"] = f
		}
	}
	return &out
}

// importLine turns the guard's relationships[i].relationship into "line N".
func importLine(field string, lines []int) (string, bool) {
	m := guardImportField.FindStringSubmatch(field)
	if m == nil {
		return "", false
	}
	i, err := strconv.Atoi(m[1])
	if err != nil || i < 0 || i >= len(lines) {
		return "", false
	}
	return lineField(lines[i]), true
}

func lineField(n int) string { return fmt.Sprintf("line %d", n) }
