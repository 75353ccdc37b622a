package pipelines

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

// agentHolders are the types whose agent relation can name a pipeline (its creator's).
var agentHolders = []string{schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount}

func rel(res relations.Object, relation string, sub relations.Subject) relations.Relationship {
	return relations.Relationship{Resource: res, Relation: relation, Subject: sub}
}

// desired is the wiring of row acting for creator: pipeline#org, pipeline#creator, the
// creator's agent link, repo#input_of per input and repo#output_of.
func desired(row store.Pipeline, creator relations.Subject) (agent relations.Relationship, links, all []relations.Relationship) {
	p := Object(row.Org, row.Name)
	ps := relations.Subject{Object: p}
	agent = rel(creator.Object, schema.RelAgent, ps)
	links = []relations.Relationship{rel(p, schema.RelCreator, creator)}
	for _, in := range row.Inputs {
		links = append(links, rel(repoObj(in), schema.RelInputOf, ps))
	}
	links = append(links, rel(repoObj(row.Output), schema.RelOutputOf, ps))
	all = append([]relations.Relationship{rel(p, schema.RelOrg, relations.Subject{Object: relations.Object{Type: schema.TypeOrg, ID: row.Org}}), agent}, links...)
	return agent, links, all
}

// current reads, at full consistency, every relationship naming pipeline p: as the
// resource (org, creator) and as the subject (agent links, input_of, output_of).
func (s *Service) current(ctx context.Context, p relations.Object) ([]relations.Relationship, error) {
	full := relations.Consistency{Full: true}
	out, err := s.rel.Read(ctx, relations.Filter{ResourceType: p.Type, ResourceID: p.ID}, full)
	if err != nil {
		return nil, err
	}
	for _, typ := range append([]string{schema.TypeRepo}, agentHolders...) {
		rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: typ, SubjectType: p.Type, SubjectID: p.ID}, full)
		if err != nil {
			return nil, err
		}
		out = append(out, rels...)
	}
	return out, nil
}

func deletes(rels []relations.Relationship) []relations.Update {
	out := make([]relations.Update, len(rels))
	for i, r := range rels {
		out[i] = relations.Update{Operation: relations.OpDelete, Relationship: r}
	}
	return out
}

// ownerUpdates make sub the direct owner of repo, replacing its previous direct role
// there (R2: one direct role per subject).
func ownerUpdates(repo relations.Object, sub relations.Subject) []relations.Update {
	out := make([]relations.Update, 0, len(schema.Roles))
	for _, role := range schema.Roles {
		op := relations.OpDelete
		if role == schema.RelOwner {
			op = relations.OpTouch
		}
		out = append(out, relations.Update{Operation: op, Relationship: rel(repo, role, sub)})
	}
	return out
}

// wire makes the pipeline's wiring exactly what row says, acting for creator, in one
// guarded write under the privileged contexts that allow exactly its agent link and
// links: what is there and not wanted (an old input, a stale link a crash left) is
// deleted, the rest touched. With owner, owner becomes the output's owner (PL2). Every
// repo must still exist when SpiceDB applies the write (repo#org preconditions), so a
// repo deleted meanwhile gets no dangling wiring (R5).
func (s *Service) wire(ctx context.Context, row store.Pipeline, creator relations.Subject, owner *relations.Subject) error {
	agent, links, want := desired(row, creator)
	have, err := s.current(ctx, Object(row.Org, row.Name))
	if err != nil {
		return err
	}
	var updates []relations.Update
	for _, r := range have {
		if !slices.Contains(want, r) {
			updates = append(updates, relations.Update{Operation: relations.OpDelete, Relationship: r})
		}
	}
	for _, r := range want {
		updates = append(updates, relations.Update{Operation: relations.OpTouch, Relationship: r})
	}
	if owner != nil {
		updates = append(updates, ownerUpdates(repoObj(row.Output), *owner)...)
	}
	var pres []relations.Precondition
	for _, repo := range append(slices.Clone(row.Inputs), row.Output) {
		pres = append(pres, relations.Precondition{MustExist: true,
			Filter: relations.Filter{ResourceType: schema.TypeRepo, ResourceID: repo, Relation: schema.RelOrg}})
	}
	ctx = guard.AllowPipelineLinks(guard.AllowAgentLink(ctx, agent), links...)
	_, err = s.rel.Write(ctx, updates, pres)
	if errors.Is(err, relations.ErrPrecondition) {
		return apperr.New(apperr.Conflict, "repo_gone", "a repo of the pipeline was deleted meanwhile; nothing was changed").WithCause(err)
	}
	return err
}
