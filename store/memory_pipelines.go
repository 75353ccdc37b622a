package store

import (
	"cmp"
	"context"
	"slices"
)

// Memory's pipelines: memData.pipelines, under Memory's lock like every record.

type pipelineID struct{ org, name string }

func clonePipeline(p Pipeline) Pipeline {
	p.Inputs = slices.Clone(p.Inputs)
	if p.Inputs == nil {
		p.Inputs = []string{}
	}
	return p
}

func (d *memData) CreatePipeline(_ context.Context, p Pipeline) error {
	id := pipelineID{p.Org, p.Name}
	if _, ok := d.pipelines[id]; ok {
		return ErrExists
	}
	setKey(d.undo, d.pipelines, id, clonePipeline(p))
	return nil
}

func (d *memData) GetPipeline(_ context.Context, org, name string) (Pipeline, error) {
	p, ok := d.pipelines[pipelineID{org, name}]
	if !ok {
		return Pipeline{}, ErrNotFound
	}
	return clonePipeline(p), nil
}

func (d *memData) ListPipelines(_ context.Context, org string) ([]Pipeline, error) {
	out := []Pipeline{}
	for id, p := range d.pipelines {
		if org == "" || id.org == org {
			out = append(out, clonePipeline(p))
		}
	}
	slices.SortFunc(out, func(a, b Pipeline) int { return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Name, b.Name)) })
	return out, nil
}

func (d *memData) UpdatePipeline(_ context.Context, p Pipeline) error {
	id := pipelineID{p.Org, p.Name}
	old, ok := d.pipelines[id]
	if !ok {
		return ErrNotFound
	}
	old.Inputs, old.Output, old.UpdatedAt = slices.Clone(p.Inputs), p.Output, p.UpdatedAt
	setKey(d.undo, d.pipelines, id, clonePipeline(old))
	return nil
}

func (d *memData) DeletePipeline(_ context.Context, org, name string) error {
	id := pipelineID{org, name}
	if _, ok := d.pipelines[id]; !ok {
		return ErrNotFound
	}
	delKey(d.undo, d.pipelines, id)
	return nil
}

func (m *Memory) CreatePipeline(ctx context.Context, p Pipeline) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.CreatePipeline(ctx, p)
}

func (m *Memory) GetPipeline(ctx context.Context, org, name string) (Pipeline, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetPipeline(ctx, org, name)
}

func (m *Memory) ListPipelines(ctx context.Context, org string) ([]Pipeline, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.ListPipelines(ctx, org)
}

func (m *Memory) UpdatePipeline(ctx context.Context, p Pipeline) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.UpdatePipeline(ctx, p)
}

func (m *Memory) DeletePipeline(ctx context.Context, org, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.DeletePipeline(ctx, org, name)
}
