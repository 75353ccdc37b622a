package api

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a Go duration string on the wire ("1h", "720h").
type Duration time.Duration

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &durationError{value: string(b)}
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &durationError{value: s}
	}
	*d = Duration(v)
	return nil
}

// durationError is a value that is not a Go duration string.
type durationError struct{ value string }

func (e *durationError) Error() string {
	return fmt.Sprintf("%q is not a duration such as \"1h\" or \"720h\"", e.value)
}
