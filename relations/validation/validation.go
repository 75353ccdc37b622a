// Package validation validates SpiceDB schemas and validation files the way `zed validate`
// does: it compiles the schema, loads the relationships, runs the assertions (assertTrue,
// assertFalse) and the expected relations (validation:), and collects the schema linter's
// warnings, all through SpiceDB's pkg/development, the code behind zed and the playground.
//
// Every problem is a Diagnostic that names the file and the line it comes from: for a
// validation YAML file, the line in that file (or in its schemaFile, for schema problems);
// for a bare .zed file, the line in the schema.
package validation

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/spiceerrors"
	"github.com/authzed/spicedb/pkg/validationfile"
)

// Diagnostic is one problem found in a file. Line and Column are 1-indexed; zero means
// unknown.
type Diagnostic struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// String renders the diagnostic as "file:line:col: message", leaving out the parts that
// are unknown (a column without a line is never shown).
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
	}
	if d.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(d.Line))
		if d.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(d.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Report is the outcome of validating one file. Errors make it fail; warnings are schema
// lint findings (the schema works, but probably not as intended).
type Report struct {
	Errors   []Diagnostic `json:"errors"`
	Warnings []Diagnostic `json:"warnings"`
}

// OK reports whether no error was found. Warnings do not count.
func (r Report) OK() bool { return len(r.Errors) == 0 }

// IsSchemaFile reports whether name is a bare schema (.zed) rather than a validation file.
func IsSchemaFile(name string) bool {
	return strings.EqualFold(filepath.Ext(name), ".zed")
}

// ValidateFile validates the file at path: a bare .zed schema, or a validation YAML file
// whose `schemaFile` is resolved relative to the file's directory. The error is only for
// I/O problems (the file or its schemaFile cannot be read); everything wrong with the
// contents is in the Report.
func ValidateFile(path string) (Report, error) {
	return ValidateFileContext(context.Background(), path)
}

// ValidateFileContext is ValidateFile under a context.
func ValidateFileContext(ctx context.Context, path string) (Report, error) {
	contents, err := os.ReadFile(path) //nolint:gosec // G304: the user names the file to validate
	if err != nil {
		return Report{}, err
	}
	dir := filepath.Dir(path)
	if IsSchemaFile(path) {
		return validateSchema(ctx, path, string(contents), &source{fsys: os.DirFS(dir), root: filepath.Base(path)})
	}
	return validateYAML(ctx, path, contents, dir)
}

// ValidateBytes validates contents as if read from a file called name (a .zed name means a
// bare schema, anything else a validation YAML file). Nothing is read from the file
// system: schema imports and `schemaFile` are refused, so it is safe on untrusted input.
// The error return is reserved for internal failures.
func ValidateBytes(name string, contents []byte) (Report, error) {
	return ValidateBytesContext(context.Background(), name, contents)
}

// ValidateBytesContext is ValidateBytes under a context.
func ValidateBytesContext(ctx context.Context, name string, contents []byte) (Report, error) {
	if IsSchemaFile(name) {
		return validateSchema(ctx, name, string(contents), nil)
	}
	return validateYAML(ctx, name, contents, "")
}

// ValidateSchema validates a schema text (compile errors and lint warnings). Diagnostics
// carry no file name; lines are those of schemaText. Imports are refused.
func ValidateSchema(schemaText string) (Report, error) {
	return ValidateSchemaContext(context.Background(), schemaText)
}

// ValidateSchemaContext is ValidateSchema under a context.
func ValidateSchemaContext(ctx context.Context, schemaText string) (Report, error) {
	return validateSchema(ctx, "", schemaText, nil)
}

// source is where a schema's imports are resolved: the directory of the root schema file.
// A nil *source means no file system access at all.
type source struct {
	fsys fs.FS
	root string // the root schema file's name inside fsys
}

func (s *source) options() []development.CompileOption {
	if s == nil {
		return []development.CompileOption{development.WithDisableImports()}
	}
	return []development.CompileOption{development.WithSourceFS(s.fsys), development.WithRootFileName(s.root)}
}

// validateSchema validates a bare schema named file (may be "").
func validateSchema(ctx context.Context, file, schemaText string, src *source) (Report, error) {
	var rep Report
	devCtx, devErrs, err := development.NewDevContext(ctx, &devinterface.RequestContext{Schema: schemaText}, src.options()...)
	if err != nil {
		// Failures outside the developer-error vocabulary (an unreadable import, say) are
		// still problems with the input: report them against the file.
		rep.Errors = append(rep.Errors, Diagnostic{File: file, Message: err.Error()})
		return rep, nil
	}
	if devErrs != nil {
		for _, de := range devErrs.GetInputErrors() {
			rep.Errors = append(rep.Errors, fromDevError(file, 0, de))
		}
		return rep, nil
	}
	defer devCtx.Dispose()

	warnings, err := development.GetWarnings(ctx, devCtx)
	if err != nil {
		return rep, fmt.Errorf("computing schema warnings: %w", err)
	}
	for _, w := range warnings {
		rep.Warnings = append(rep.Warnings, fromDevWarning(file, 0, w))
	}
	sortDiagnostics(rep.Warnings)
	return rep, nil
}

// validateYAML validates a validation file named file. dir is the directory schemaFile is
// resolved against; "" means schemaFile is not allowed.
func validateYAML(ctx context.Context, file string, contents []byte, dir string) (Report, error) {
	var rep Report
	vf, err := validationfile.DecodeValidationFile(contents)
	if err != nil {
		rep.Errors = append(rep.Errors, fromParseError(file, contents, err))
		return rep, nil
	}
	where, diag, err := locateSchema(file, vf, dir)
	if err != nil || diag != nil {
		if diag != nil {
			rep.Errors = append(rep.Errors, *diag)
		}
		return rep, err
	}
	yctx, devErrs, err := development.NewDevContextForValidationFile(ctx, vf, where.src.options()...)
	if err != nil {
		rep.Errors = append(rep.Errors, Diagnostic{File: file, Message: err.Error()})
		return rep, nil
	}
	if devErrs != nil {
		rep.Errors = where.inputErrors(file, devErrs.GetInputErrors())
		return rep, nil
	}
	defer yctx.DevContext.Dispose()

	warnings, err := development.GetWarnings(ctx, yctx.DevContext)
	if err != nil {
		return rep, fmt.Errorf("computing schema warnings: %w", err)
	}
	for _, w := range warnings {
		rep.Warnings = append(rep.Warnings, fromDevWarning(where.file, where.lineOffset, w))
	}
	if err := runChecks(&rep, file, yctx); err != nil {
		return rep, err
	}
	sortDiagnostics(rep.Warnings)
	return rep, nil
}

// schemaLocation is where a validation file's schema comes from, and so where schema
// diagnostics point: the YAML file itself (offset by the line of the `schema:` block),
// or the schemaFile.
type schemaLocation struct {
	src        *source
	file       string
	lineOffset int
}

// locateSchema finds the schema of vf (named file, read from dir when not ""), pointing
// vf.SchemaFile into the returned source. A diagnostic means the file names no usable
// schema; an error, that the schemaFile cannot be read.
func locateSchema(file string, vf *validationfile.ValidationFile, dir string) (schemaLocation, *Diagnostic, error) {
	where := schemaLocation{file: file, lineOffset: vf.Schema.SourcePosition.LineNumber}
	switch {
	case vf.SchemaFile != "" && strings.TrimSpace(vf.Schema.Schema) != "":
		return where, &Diagnostic{File: file, Line: vf.Schema.SourcePosition.LineNumber,
			Message: "a validation file may have `schema` or `schemaFile`, not both"}, nil
	case vf.SchemaFile != "" && dir == "":
		return where, &Diagnostic{File: file,
			Message: "`schemaFile` is not supported here: inline the schema under `schema`"}, nil
	case vf.SchemaFile != "":
		schemaPath := vf.SchemaFile
		if !filepath.IsAbs(schemaPath) {
			schemaPath = filepath.Join(dir, schemaPath)
		}
		if _, err := os.Stat(schemaPath); err != nil { //nolint:gosec // G703: files named by the user; the API refuses schemaFile
			return where, nil, fmt.Errorf("%s: schemaFile: %w", file, err)
		}
		// pkg/development reads the schemaFile through an fs.FS, which cannot hold "..":
		// root the FS at the schema's own directory, which is also where its imports live.
		where.src = &source{fsys: os.DirFS(filepath.Dir(schemaPath)), root: filepath.Base(schemaPath)}
		vf.SchemaFile = where.src.root
		where.file, where.lineOffset = schemaPath, 0
	case strings.TrimSpace(vf.Schema.Schema) == "":
		return where, &Diagnostic{File: file, Message: "no schema: set `schema` or `schemaFile`"}, nil
	case dir != "":
		where.src = &source{fsys: os.DirFS(dir), root: "schema"}
	}
	return where, nil, nil
}

// inputErrors turns the developer errors of loading validation file file into sorted
// diagnostics. Positions are already absolute in the YAML file, except schema errors when
// the schema comes from a schemaFile, which are relative to that file (or to the file it
// imports that the error names).
func (w schemaLocation) inputErrors(file string, errs []*devinterface.DeveloperError) []Diagnostic {
	var out []Diagnostic
	for _, de := range errs {
		diagFile := file
		if de.GetSource() == devinterface.DeveloperError_SCHEMA {
			diagFile = w.file
			if len(de.GetPath()) > 0 && w.src != nil && de.GetPath()[0] != w.src.root && w.file != file {
				diagFile = filepath.Join(filepath.Dir(w.file), de.GetPath()[0])
			}
		}
		out = append(out, fromDevError(diagFile, 0, de))
	}
	sortDiagnostics(out)
	return out
}

// ValidateWithSchema runs the validation file contents (named file in diagnostics) against
// schemaText in place of the file's own `schema` or `schemaFile`: it loads the relationships
// and runs the assertions and expected relations. Lint warnings are not computed and nothing
// is read from the file system. Mutation testing (schema/) runs the same files against
// altered schemas with it. The error return is reserved for internal failures.
func ValidateWithSchema(ctx context.Context, file string, contents []byte, schemaText string) (Report, error) {
	var rep Report
	vf, err := validationfile.DecodeValidationFile(contents)
	if err != nil {
		rep.Errors = append(rep.Errors, fromParseError(file, contents, err))
		return rep, nil
	}
	vf.SchemaFile = ""
	vf.Schema.Schema = schemaText
	yctx, devErrs, err := development.NewDevContextForValidationFile(ctx, vf, development.WithDisableImports())
	if err != nil {
		rep.Errors = append(rep.Errors, Diagnostic{File: file, Message: err.Error()})
		return rep, nil
	}
	if devErrs != nil {
		for _, de := range devErrs.GetInputErrors() {
			rep.Errors = append(rep.Errors, fromDevError(file, 0, de))
		}
		sortDiagnostics(rep.Errors)
		return rep, nil
	}
	defer yctx.DevContext.Dispose()
	err = runChecks(&rep, file, yctx)
	return rep, err
}

// runChecks runs the assertions and the expected relations of a loaded validation file,
// adding their failures to rep.Errors.
func runChecks(rep *Report, file string, yctx *development.YAMLDevContext) error {
	devCtx := yctx.DevContext
	failures, err := development.RunAllAssertions(devCtx, &yctx.Assertions)
	if err != nil {
		return fmt.Errorf("running assertions: %w", err)
	}
	for _, de := range failures {
		rep.Errors = append(rep.Errors, fromDevError(file, 0, de))
	}

	_, failures, err = development.RunValidation(devCtx, &yctx.ExpectedRelations)
	if err != nil {
		return fmt.Errorf("checking expected relations: %w", err)
	}
	for _, de := range failures {
		d := fromDevError(file, 0, de)
		if d.Line == 0 {
			// Expansion failures carry no position: find the key they are about.
			for key := range yctx.ExpectedRelations.ValidationMap {
				if key.ObjectRelationString == de.GetContext() {
					d.Line, d.Column = key.SourcePosition.LineNumber, key.SourcePosition.ColumnPosition
					break
				}
			}
		}
		rep.Errors = append(rep.Errors, d)
	}
	sortDiagnostics(rep.Errors)
	return nil
}

func fromDevError(file string, lineOffset int, de *devinterface.DeveloperError) Diagnostic {
	d := Diagnostic{File: file, Message: de.GetMessage()}
	if de.GetLine() > 0 {
		d.Line = int(de.GetLine()) + lineOffset
		d.Column = int(de.GetColumn())
	}
	if ctx := de.GetContext(); ctx != "" && !strings.Contains(d.Message, ctx) &&
		de.GetSource() == devinterface.DeveloperError_RELATIONSHIP {
		d.Message = fmt.Sprintf("%s: %s", ctx, d.Message)
	}
	return d
}

func fromDevWarning(file string, lineOffset int, w *devinterface.DeveloperWarning) Diagnostic {
	d := Diagnostic{File: file, Message: w.GetMessage()}
	if w.GetLine() > 0 {
		d.Line = int(w.GetLine()) + lineOffset
		d.Column = int(w.GetColumn())
	}
	return d
}

var yamlLineRE = regexp.MustCompile(`line ([0-9]+)(?:, column ([0-9]+))?: `)

// fromParseError turns a YAML decoding error (bad YAML, a malformed relationship,
// assertion or expected relation) into a positioned diagnostic.
func fromParseError(file string, contents []byte, err error) Diagnostic {
	d := Diagnostic{File: file, Message: err.Error()}
	if serr, ok := spiceerrors.AsWithSourceError(err); ok {
		d.Line, d.Column = int(serr.LineNumber), int(serr.ColumnPosition)
		d.Message = serr.Error()
		d.Line = lineOf(contents, serr.SourceCodeString, d.Line)
		return d
	}
	if m := yamlLineRE.FindStringSubmatch(d.Message); m != nil {
		d.Line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			d.Column, _ = strconv.Atoi(m[2])
		}
	}
	return d
}

// lineOf checks that the 1-indexed line of contents holds source and, if not, returns the
// first line that does (pkg/validationfile miscounts lines inside a relationships block);
// with no better answer it returns line unchanged.
func lineOf(contents []byte, source string, line int) int {
	source = strings.TrimSpace(source)
	if source == "" {
		return line
	}
	lines := strings.Split(string(contents), "\n")
	if line > 0 && line <= len(lines) && strings.Contains(lines[line-1], source) {
		return line
	}
	for i, l := range lines {
		if strings.Contains(l, source) {
			return i + 1
		}
	}
	return line
}

func sortDiagnostics(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].File != ds[j].File {
			return ds[i].File < ds[j].File
		}
		if ds[i].Line != ds[j].Line {
			return ds[i].Line < ds[j].Line
		}
		return ds[i].Column < ds[j].Column
	})
}
