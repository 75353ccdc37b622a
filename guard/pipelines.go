package guard

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// Pipeline wiring (contract D2, PL1-PL4). repo#input_of and repo#output_of say which
// repos a pipeline reads and writes, pipeline#creator whom it acts for: written by hand,
// they would wire a pipeline to a repo without the PL1 checks, or make it act for
// someone who never created it. Like agent links, only the pipeline service writes them,
// through AllowPipelineLinks; deleting one only takes access away and is always allowed.

type pipelineLinksKey struct{}

// AllowPipelineLinks lets writes made with ctx add exactly rels, pipeline wiring
// relationships (repo#input_of, repo#output_of, pipeline#creator). Only the pipeline
// service calls it, after the PL1 checks.
func AllowPipelineLinks(ctx context.Context, rels ...relations.Relationship) context.Context {
	prev, _ := ctx.Value(pipelineLinksKey{}).(map[relations.Relationship]bool)
	next := make(map[relations.Relationship]bool, len(prev)+len(rels))
	for k := range prev {
		next[k] = true
	}
	for _, r := range rels {
		next[r] = true
	}
	return context.WithValue(ctx, pipelineLinksKey{}, next)
}

func pipelineLinkAllowed(ctx context.Context, r relations.Relationship) bool {
	allowed, _ := ctx.Value(pipelineLinksKey{}).(map[relations.Relationship]bool)
	return allowed[r]
}

// IsPipelineLink reports whether r is pipeline wiring: repo#input_of, repo#output_of or
// pipeline#creator.
func IsPipelineLink(r relations.Relationship) bool {
	switch {
	case r.Resource.Type == schema.TypeRepo && (r.Relation == schema.RelInputOf || r.Relation == schema.RelOutputOf):
		return true
	case r.Resource.Type == schema.TypePipeline && r.Relation == schema.RelCreator:
		return true
	}
	return false
}

// refusePipelineLinks refuses every pipeline wiring relationship the write adds but
// those the pipeline service allowed (PL1, PL3, PL4).
func refusePipelineLinks(ctx context.Context, updates []relations.Update, field string) error {
	for i, u := range updates {
		r := u.Relationship
		if u.Operation == relations.OpDelete || !IsPipelineLink(r) || pipelineLinkAllowed(ctx, r) {
			continue
		}
		e := apperr.New(apperr.Forbidden, "pipeline_link",
			"%s would wire %s without the pipeline checks: pipeline inputs, outputs and creators are written only by the pipelines routes (PL1, PL4)",
			r, pipelineOf(r))
		e.Field = fieldOf(field, i)
		return e
	}
	return nil
}

// pipelineOf names the pipeline a wiring relationship is about.
func pipelineOf(r relations.Relationship) string {
	if r.Resource.Type == schema.TypePipeline {
		return r.Resource.String()
	}
	return r.Subject.String()
}
