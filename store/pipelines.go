package store

import (
	"context"
	"time"
)

// Pipeline is an org's pipeline (ID4, PL1-PL4), pipeline:<Org>/<Name>. It acts for
// Creator; what it may reach is in SpiceDB (its wiring: repo#input_of, repo#output_of,
// the creator's agent link), not here: the row is the unique name and what the API shows.
type Pipeline struct {
	Org, Name string
	Creator   string   // typed subject the pipeline acts for (user:, robot:, sa:)
	Inputs    []string // "org/repo", in the order given
	Output    string   // "org/repo"
	CreatedAt time.Time
	UpdatedAt time.Time
	CreatedBy string // typed subject of the caller that created it
}

// PipelineStore keeps pipelines (contract D2).
type PipelineStore interface {
	// CreatePipeline stores p; ErrExists when (p.Org, p.Name) is taken.
	CreatePipeline(ctx context.Context, p Pipeline) error
	// GetPipeline returns a pipeline; ErrNotFound when absent.
	GetPipeline(ctx context.Context, org, name string) (Pipeline, error)
	// ListPipelines returns the pipelines of org by name ("" = every org, by org then
	// name); none is an empty list.
	ListPipelines(ctx context.Context, org string) ([]Pipeline, error)
	// UpdatePipeline replaces the mutable fields (Inputs, Output, UpdatedAt) of the
	// pipeline (p.Org, p.Name); ErrNotFound when absent. The rest never changes.
	UpdatePipeline(ctx context.Context, p Pipeline) error
	// DeletePipeline deletes a pipeline; ErrNotFound when absent. Its tokens are deleted
	// separately (DeleteTokensOf, in the same WithTx).
	DeletePipeline(ctx context.Context, org, name string) error
}
