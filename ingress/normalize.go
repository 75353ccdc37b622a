package ingress

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of what Normalize accepts; anything longer is refused.
const (
	MaxURILen   = 4096
	MaxSegments = 128
)

// ErrUnsafePath is wrapped by every refusal of Normalize: a path that could escape its
// prefix, or that some server behind the ingress could read differently from us.
var ErrUnsafePath = errors.New("unsafe path")

// Path is a normalized request path: decoded segments, none empty, none "." or "..",
// none holding a slash, a backslash, a semicolon, a percent sign, a control character or
// invalid UTF-8.
type Path struct {
	Segments []string
	// TrailingSlash: the path ended in "/" (ignored by matching).
	TrailingSlash bool
	// escaped[i]: segment i was written with percent escapes. Matching refuses them in
	// the segments a pattern names (literals and placeholders), so that a data service
	// that does not decode cannot read another resource than the one decided.
	escaped []bool
}

// String is the path as matched, for logs.
func (p Path) String() string { return "/" + strings.Join(p.Segments, "/") }

func unsafe(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsafePath, fmt.Sprintf(format, args...))
}

// Normalize turns the original request URI (path and query, as nginx's $request_uri)
// into its path segments, percent escapes decoded (in either case). It does not resolve
// anything: instead of guessing how the data service behind the ingress reads a tricky
// path, it refuses every path two servers could read differently. Refused (wrapping
// ErrUnsafePath): no leading "/", "." and ".." segments (also as %2e, %2E, or made only of
// dots), empty segments ("//"), ";" (path parameters), "#", backslashes, encoded slashes
// (%2f), bad or double escapes (%zz, %252e), control bytes and NUL, invalid or overlong
// UTF-8 (%c0%ae), look-alike dots and slashes (U+FF0E, U+2215...), segments starting or
// ending in a space, and paths over MaxURILen bytes or MaxSegments segments. The query is
// dropped.
func Normalize(rawURI string) (Path, error) {
	if len(rawURI) > MaxURILen {
		return Path{}, unsafe("longer than %d bytes", MaxURILen)
	}
	path, _, _ := strings.Cut(rawURI, "?")
	if path == "" || path[0] != '/' {
		return Path{}, unsafe("the path must start with /")
	}
	if path == "/" {
		return Path{TrailingSlash: true}, nil
	}
	parts := strings.Split(path[1:], "/")
	out := Path{}
	if parts[len(parts)-1] == "" {
		out.TrailingSlash = true
		parts = parts[:len(parts)-1]
	}
	if len(parts) > MaxSegments {
		return Path{}, unsafe("more than %d segments", MaxSegments)
	}
	out.Segments = make([]string, 0, len(parts))
	out.escaped = make([]bool, 0, len(parts))
	for i, raw := range parts {
		seg, err := decodeSegment(raw)
		if err != nil {
			return Path{}, fmt.Errorf("segment %d: %w", i+1, err)
		}
		out.Segments = append(out.Segments, seg)
		out.escaped = append(out.escaped, seg != raw)
	}
	return out, nil
}

// decodeSegment checks and decodes one raw path segment.
func decodeSegment(raw string) (string, error) {
	if raw == "" {
		return "", unsafe("empty segment (//)")
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c <= ' ' || c == 0x7f:
			return "", unsafe("a space or control byte")
		case c == ';' || c == '#' || c == '\\':
			return "", unsafe("%q is not allowed in a path", string(c))
		case c == '%':
			if i+2 >= len(raw) {
				return "", unsafe("a truncated percent escape")
			}
			hi, ok1 := unhex(raw[i+1])
			lo, ok2 := unhex(raw[i+2])
			if !ok1 || !ok2 {
				return "", unsafe("a bad percent escape")
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return checkDecoded(b.String())
}

// checkDecoded refuses a decoded segment that is not a plain name.
func checkDecoded(seg string) (string, error) {
	if !utf8.ValidString(seg) { // also refuses overlong encodings and surrogates
		return "", unsafe("invalid or overlong UTF-8")
	}
	if strings.Trim(seg, ".") == "" {
		return "", unsafe("a segment of dots (. or ..)")
	}
	first, _ := utf8.DecodeRuneInString(seg)
	last, _ := utf8.DecodeLastRuneInString(seg)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return "", unsafe("a segment starting or ending in a space")
	}
	for _, r := range seg {
		switch {
		case r == '/' || r == '\\':
			return "", unsafe("an encoded slash or backslash")
		case r == '%':
			return "", unsafe("a double percent escape")
		case r == ';' || r == '#' || r == '?':
			return "", unsafe("an encoded %q", string(r))
		case unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r):
			return "", unsafe("a control or format character")
		case lookalike[r]:
			return "", unsafe("a character that looks like a dot or a slash (%U)", r)
		}
	}
	return seg, nil
}

// lookalike are characters that some servers fold into "." or "/" (Unicode
// compatibility normalization): refused so that no path becomes ".." behind us.
var lookalike = map[rune]bool{
	'\u2024': true, '\u2025': true, '\u2026': true, '\uFE52': true, '\uFF0E': true, // dots
	'\u2215': true, '\u2044': true, '\uFF0F': true, '\u29F8': true, '\uFE68': true, '\uFF3C': true, // slashes
	'\u3002': true, '\uFF61': true, // ideographic full stops
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
