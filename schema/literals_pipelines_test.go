package schema_test

func init() {
	// Contract D2 (h/pipe): the API's URL parameter "repo" (paramRepo), and a pipeline
	// token's kind (pipelines.TokenKind, store.Token.Kind's vocabulary), declared once as
	// named constants.
	allowedLiterals["api/pipelines.go"] = []string{"repo"}
	allowedLiterals["pipelines/pipelines.go"] = []string{"pipeline"}
	// The CLI word `gatehouse pipeline`.
	allowedLiterals["cmd/gatehouse/cli_pipelines.go"] = []string{"pipeline"}
}
