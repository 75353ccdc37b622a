package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ---- pipelines (contract D2) ----

const pipelineColumns = "org, name, creator, inputs, output, created_at, updated_at, created_by"

func scanPipeline(row pgx.Row) (Pipeline, error) {
	var p Pipeline
	var inputs string
	err := row.Scan(&p.Org, &p.Name, &p.Creator, &inputs, &p.Output, &p.CreatedAt, &p.UpdatedAt, &p.CreatedBy)
	if err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	if err := json.Unmarshal([]byte(inputs), &p.Inputs); err != nil {
		return p, fmt.Errorf("pipeline %s/%s: corrupt inputs: %w", p.Org, p.Name, err)
	}
	if p.Inputs == nil {
		p.Inputs = []string{}
	}
	return p, nil
}

// inputsJSON is the stored form of a pipeline's inputs: a JSON array of "org/repo".
func inputsJSON(in []string) string {
	if in == nil {
		in = []string{}
	}
	b, _ := json.Marshal(in) // []string always marshals
	return string(b)
}

func (s *sqlRecords) CreatePipeline(ctx context.Context, p Pipeline) error {
	tag, err := s.db.Exec(ctx, "INSERT INTO pipelines ("+pipelineColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (org, name) DO NOTHING",
		p.Org, p.Name, p.Creator, inputsJSON(p.Inputs), p.Output, p.CreatedAt, p.UpdatedAt, p.CreatedBy)
	return created("create pipeline", tag, err)
}

func (s *sqlRecords) GetPipeline(ctx context.Context, org, name string) (Pipeline, error) {
	p, err := scanPipeline(s.db.QueryRow(ctx, "SELECT "+pipelineColumns+" FROM pipelines WHERE org = $1 AND name = $2", org, name))
	return p, wrap("get pipeline", err)
}

func (s *sqlRecords) ListPipelines(ctx context.Context, org string) ([]Pipeline, error) {
	rows, err := s.db.Query(ctx, "SELECT "+pipelineColumns+" FROM pipelines WHERE $1 = '' OR org = $1 ORDER BY org, name", org)
	if err != nil {
		return nil, wrap("list pipelines", err)
	}
	out, err := collect(rows, scanPipeline)
	return out, wrap("list pipelines", err)
}

func (s *sqlRecords) UpdatePipeline(ctx context.Context, p Pipeline) error {
	tag, err := s.db.Exec(ctx, "UPDATE pipelines SET inputs = $3, output = $4, updated_at = $5 WHERE org = $1 AND name = $2",
		p.Org, p.Name, inputsJSON(p.Inputs), p.Output, p.UpdatedAt)
	if err != nil {
		return wrap("update pipeline", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *sqlRecords) DeletePipeline(ctx context.Context, org, name string) error {
	tag, err := s.db.Exec(ctx, "DELETE FROM pipelines WHERE org = $1 AND name = $2", org, name)
	if err != nil {
		return wrap("delete pipeline", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
