package schema_test

func init() {
	// Contract D2 (h/pipe): a pipeline token's kind (pipelines.TokenKind,
	// store.Token.Kind's vocabulary), declared once as a named constant.
	allowedLiterals["pipelines/pipelines.go"] = []string{"pipeline"}
	// The CLI word `gatehouse pipeline`.
	allowedLiterals["cmd/gatehouse/cli_pipelines.go"] = []string{"pipeline"}
}
