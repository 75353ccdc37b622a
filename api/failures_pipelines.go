package api

// Failures of the repo-role and pipeline routes (contract D2).
var (
	errPipelineLink = fail(403, "pipeline_link") // guard: PL1, PL4
	errCreatorGone  = fail(409, "creator_gone")  // pipelines: PL3, the creator was deleted (h/attack)
)
