package harness

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// FiguresEnv names the file Figure appends to; `make test` sets it and prints the file
// after the run, as go test shows nothing of a passing package.
const FiguresEnv = "GATEHOUSE_FIGURES"

var figuresMu sync.Mutex

// Figure logs one line of measured figures (a drill's, the load test's) on t and appends
// it to the file $GATEHOUSE_FIGURES names, if any.
func Figure(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	AppendFigure(line)
}

// AppendFigure appends line to the file $GATEHOUSE_FIGURES names, if any.
func AppendFigure(line string) {
	path := os.Getenv(FiguresEnv)
	if path == "" {
		return
	}
	figuresMu.Lock()
	defer figuresMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = fmt.Fprintln(f, line)
}
