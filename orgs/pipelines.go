package orgs

import (
	"context"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

// noPipelines refuses deleting an org that still has pipelines (contract D2), as one
// with repos: a pipeline's wiring names its org, and an org created again under the name
// would otherwise bring its pipelines back to life. details.pipelines lists them.
func (s *Service) noPipelines(ctx context.Context, org string) error {
	list, err := s.store.ListPipelines(ctx, org)
	if err != nil || len(list) == 0 {
		return err
	}
	names := make([]string, 0, len(list))
	for _, p := range list {
		names = append(names, p.Org+"/"+p.Name)
	}
	slices.Sort(names)
	return apperr.New(apperr.Conflict, "in_use", "org %q still has %d pipelines; delete them first", org, len(names)).
		WithDetails("pipelines", names)
}
