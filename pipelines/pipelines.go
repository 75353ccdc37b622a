// Package pipelines owns pipelines (ID4, PL1-PL4): an org's named identity,
// pipeline:<org>/<name>, that reads its input repos and writes its output repo for its
// creator.
//
// A pipeline is a row in the store (its unique name, what the API shows) and its wiring
// in SpiceDB: pipeline#org, pipeline#creator, the creator's agent link
// (<creator>#agent@pipeline), repo#input_of and repo#output_of. The schema gives a
// pipeline read on its inputs and write on its output only through its creator's agent
// link, walked along the creator's own access paths at every check: nothing is copied,
// so when the creator loses access the pipeline loses it at its next check (PL3). Only
// this package writes the wiring, in one guarded write under the guard's privileged
// contexts (guard.AllowAgentLink, guard.AllowPipelineLinks); raw writes of it are
// refused (PL4).
//
// Creating or updating needs read on every input and write on the output (PL1, decided
// by authz.PipelineWiring, which lists every miss); the creator becomes owner of the
// output (PL2). The output cannot also be an input (a pipeline reading what it writes
// would loop, as Pachyderm refuses) and lives in the pipeline's org (deleting the org
// then needs the output repo gone first). Each act on one pipeline holds the store lock
// "pipeline/<org>/<name>" across replicas, so a token is never minted for a pipeline
// being deleted and two writers never interleave their wiring.
package pipelines

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// SubjectType is a pipeline's subject type, pipeline:<org>/<name> (ID6).
const SubjectType = schema.TypePipeline

// TokenKind is the kind of a pipeline's own token (store.Token.Kind).
const TokenKind = "pipeline"

// MaxInputs bounds a pipeline's inputs.
const MaxInputs = 100

// Authorizer is the part of authz this package asks (authz.Authorizer satisfies it).
type Authorizer interface {
	// PipelineWiring decides PL1 for p: read on every input, write on the output.
	PipelineWiring(ctx context.Context, p tokens.Principal, inputs []relations.Object, output relations.Object) error
	// SeesOrg reports whether p may learn whether repos of org exist.
	SeesOrg(ctx context.Context, p tokens.Principal, org string) (bool, error)
}

// Service creates, updates and deletes pipelines and mints their tokens.
type Service struct {
	rel    relations.Engine // guarded
	st     store.Store
	tokens *tokens.Service
	authz  Authorizer
	now    func() time.Time
}

// New returns a pipeline service writing relationships through rel (the guarded engine).
func New(rel relations.Engine, st store.Store, tok *tokens.Service, az Authorizer) *Service {
	return &Service{rel: rel, st: st, tokens: tok, authz: az, now: time.Now}
}

// Spec is what a caller asks of a pipeline: its inputs and output, "org/repo" each.
type Spec struct {
	Inputs []string
	Output string
}

// Object is pipeline:<org>/<name>.
func Object(org, name string) relations.Object {
	return relations.Object{Type: schema.TypePipeline, ID: org + "/" + name}
}

func repoObj(id string) relations.Object { return relations.Object{Type: schema.TypeRepo, ID: id} }

func lockName(org, name string) string { return "pipeline/" + org + "/" + name }

func notFound(org, name string) error {
	return apperr.New(apperr.NotFound, "not_found", "no pipeline %q", org+"/"+name)
}

// checkRepoName validates "org/repo" for field.
func checkRepoName(field, s string) error {
	org, name, ok := strings.Cut(s, "/")
	if !ok || !identity.ValidName(org) || !identity.ValidName(name) {
		return apperr.InvalidField(field, "%q is not a repo name like acme/raw", s)
	}
	return nil
}

// validate checks the names of a pipeline and its spec (400 naming the field).
func validate(org, name string, spec Spec) error {
	if !identity.ValidName(name) {
		return apperr.InvalidField("name", "%q is not a valid name (lowercase letters, digits, '-', '_', at most 63)", name)
	}
	if len(spec.Inputs) == 0 {
		return apperr.InvalidField("inputs", "a pipeline reads at least one input repo")
	}
	if len(spec.Inputs) > MaxInputs {
		return apperr.InvalidField("inputs", "at most %d inputs", MaxInputs)
	}
	for i, in := range spec.Inputs {
		field := fmt.Sprintf("inputs[%d]", i)
		if err := checkRepoName(field, in); err != nil {
			return err
		}
		if slices.Index(spec.Inputs, in) < i {
			return apperr.InvalidField(field, "%s is already input %d: each input is named once", in, slices.Index(spec.Inputs, in))
		}
	}
	if spec.Output == "" {
		return apperr.InvalidField("output", "is required")
	}
	if err := checkRepoName("output", spec.Output); err != nil {
		return err
	}
	if identity.OrgOf(repoObj(spec.Output)) != org {
		return apperr.InvalidField("output", "%s is not in org %s: a pipeline writes a repo of its own org", spec.Output, org)
	}
	if slices.Contains(spec.Inputs, spec.Output) {
		return apperr.InvalidField("output", "%s is also an input: a pipeline cannot read what it writes", spec.Output)
	}
	return nil
}

// checkWiring validates the repos of spec exist and that p may wire them (PL1). A repo
// exists iff repo#org is present (contract D1). Its absence is told (400 naming the
// field) only to a caller who can see its org; to anyone else an absent repo is just
// one it cannot read (403 listed in details.missing), so existence stays private.
func (s *Service) checkWiring(ctx context.Context, p tokens.Principal, spec Spec) error {
	fields := make([]string, 0, len(spec.Inputs)+1)
	repos := make([]relations.Object, 0, len(spec.Inputs)+1)
	for i, in := range spec.Inputs {
		fields, repos = append(fields, fmt.Sprintf("inputs[%d]", i)), append(repos, repoObj(in))
	}
	fields, repos = append(fields, "output"), append(repos, repoObj(spec.Output))
	for i, r := range repos {
		ok, err := s.exists(ctx, r)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		sees, err := s.authz.SeesOrg(ctx, p, identity.OrgOf(r))
		if err != nil {
			return err
		}
		if sees {
			return apperr.InvalidField(fields[i], "no repo %s", r.ID)
		}
	}
	return s.authz.PipelineWiring(ctx, p, repos[:len(repos)-1], repos[len(repos)-1])
}

func (s *Service) exists(ctx context.Context, repo relations.Object) (bool, error) {
	rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: repo.Type, ResourceID: repo.ID, Relation: schema.RelOrg}, relations.Consistency{Full: true})
	return len(rels) > 0, err
}

// Get returns a pipeline; NotFound when absent.
func (s *Service) Get(ctx context.Context, org, name string) (store.Pipeline, error) {
	p, err := s.st.GetPipeline(ctx, org, name)
	if errors.Is(err, store.ErrNotFound) {
		return p, notFound(org, name)
	}
	return p, err
}

// Create creates pipeline <org>/<name> acting for p's owner, after the PL1 checks, and
// makes p's owner owner of the output (PL2). The row comes first (the unique name), the
// wiring second in one guarded write; if the write fails the row is removed again.
func (s *Service) Create(ctx context.Context, p tokens.Principal, org, name string, spec Spec) (store.Pipeline, error) {
	if err := validate(org, name, spec); err != nil {
		return store.Pipeline{}, err
	}
	creator, err := authz.PipelineCreator(p)
	if err != nil {
		return store.Pipeline{}, err
	}
	now := s.now().UTC()
	row := store.Pipeline{Org: org, Name: name, Creator: creator.String(), Inputs: spec.Inputs, Output: spec.Output,
		CreatedAt: now, UpdatedAt: now, CreatedBy: p.Subject}
	err = s.st.Lock(ctx, lockName(org, name), func(ctx context.Context) error {
		if err := s.checkWiring(ctx, p, spec); err != nil {
			return err
		}
		if err := s.createRow(ctx, row); err != nil {
			return err
		}
		if err := s.wire(ctx, row, creator, &creator); err != nil {
			return errors.Join(err, s.st.DeletePipeline(context.WithoutCancel(ctx), org, name))
		}
		return nil
	})
	return row, err
}

// createRow stores row; a row of the name that an interrupted creation left without
// wiring is replaced, any other is a conflict.
func (s *Service) createRow(ctx context.Context, row store.Pipeline) error {
	err := s.st.CreatePipeline(ctx, row)
	if !errors.Is(err, store.ErrExists) {
		return err
	}
	orphan, err := s.orphan(ctx, row.Org, row.Name)
	if err != nil {
		return err
	}
	if !orphan {
		return apperr.New(apperr.Conflict, "already_exists", "pipeline %s/%s already exists", row.Org, row.Name)
	}
	if err := s.dropRow(ctx, row.Org, row.Name); err != nil {
		return err
	}
	return s.st.CreatePipeline(ctx, row)
}

// Update replaces the inputs and output of a pipeline, after the PL1 checks on p (the
// caller, creator or org admin), in one atomic write of the wiring; p's owner becomes
// owner of a new output (PL2). The pipeline still acts for its creator (PL3).
func (s *Service) Update(ctx context.Context, p tokens.Principal, org, name string, spec Spec) (store.Pipeline, error) {
	if err := validate(org, name, spec); err != nil {
		return store.Pipeline{}, err
	}
	caller, err := authz.PipelineCreator(p)
	if err != nil {
		return store.Pipeline{}, err
	}
	var row store.Pipeline
	err = s.st.Lock(ctx, lockName(org, name), func(ctx context.Context) error {
		old, err := s.Get(ctx, org, name)
		if err != nil {
			return err
		}
		if err := s.creatorLives(ctx, old); err != nil {
			return err
		}
		if err := s.checkWiring(ctx, p, spec); err != nil {
			return err
		}
		creator, err := relations.ParseSubject(old.Creator)
		if err != nil {
			return fmt.Errorf("pipeline %s/%s: stored creator: %w", org, name, err)
		}
		row = old
		row.Inputs, row.Output, row.UpdatedAt = spec.Inputs, spec.Output, s.now().UTC()
		owner := &caller
		if old.Output == spec.Output {
			owner = nil // the output's owner stays as it is
		}
		if err := s.wire(ctx, row, creator, owner); err != nil {
			return err
		}
		return s.st.UpdatePipeline(ctx, row)
	})
	return row, err
}

// creatorLives refuses to re-wire a pipeline whose creator was deleted (its
// pipeline#creator link went with it, relations.DeleteSubject): wiring it again would
// write an agent link for the old name, which a new user, robot or API key of that name
// would then lend its rights through (PL3). Such a pipeline can only be deleted.
func (s *Service) creatorLives(ctx context.Context, row store.Pipeline) error {
	p := Object(row.Org, row.Name)
	rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: p.Type, ResourceID: p.ID, Relation: schema.RelCreator}, relations.Consistency{Full: true})
	if err != nil {
		return err
	}
	if len(rels) == 0 {
		return apperr.New(apperr.Conflict, "creator_gone",
			"pipeline %s/%s acts for %s, who was deleted: it holds nothing and cannot be changed; delete it and create it again (PL3)", row.Org, row.Name, row.Creator)
	}
	return nil
}

// Delete removes a pipeline: its row and its tokens together first (its tokens are
// refused at once, and none can be minted any more), then its wiring, every
// relationship naming it. Should the second step fail, what it leaves grants no token
// anything, and creating a pipeline under the name again replaces it (wire).
func (s *Service) Delete(ctx context.Context, org, name string) error {
	return s.st.Lock(ctx, lockName(org, name), func(ctx context.Context) error {
		if _, err := s.Get(ctx, org, name); err != nil {
			return err
		}
		if err := s.dropRow(ctx, org, name); err != nil {
			return err
		}
		return s.unwire(ctx, Object(org, name))
	})
}

// dropRow deletes a pipeline's row and its tokens in one transaction.
func (s *Service) dropRow(ctx context.Context, org, name string) error {
	subject := relations.Subject{Object: Object(org, name)}.String()
	return s.st.WithTx(ctx, func(tx store.Tx) error {
		if err := tx.DeletePipeline(ctx, org, name); err != nil {
			return err
		}
		return tx.DeleteTokensOf(ctx, subject)
	})
}

// unwire deletes every relationship naming pipeline p, in one write.
func (s *Service) unwire(ctx context.Context, p relations.Object) error {
	stale, err := s.current(ctx, p)
	if err != nil || len(stale) == 0 {
		return err
	}
	_, err = s.rel.Write(ctx, deletes(stale), nil)
	return err
}

// orphan reports whether a pipeline's row has no wiring (no pipeline#org): what an
// interrupted creation leaves, which no route can reach (authz sees no such pipeline).
func (s *Service) orphan(ctx context.Context, org, name string) (bool, error) {
	p := Object(org, name)
	rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: p.Type, ResourceID: p.ID, Relation: schema.RelOrg}, relations.Consistency{Full: true})
	return len(rels) == 0, err
}

// Token mints the pipeline's own token (PL3) as a root token, without a minting token:
// TokenFrom with no parent. Requests of the API mint with TokenFrom and their token.
func (s *Service) Token(ctx context.Context, org, name string, ttl time.Duration) (tokens.Minted, error) {
	return s.TokenFrom(ctx, nil, org, name, ttl)
}

// TokenFrom mints the pipeline's own token (PL3): subject pipeline:<org>/<name>, kind
// "pipeline", its lifetime within the token bounds (T4) and its creator's
// (creatorLifetime). parent is the token making the request (nil: none): the pipeline
// token is derived from it like any token minted from another (T3, T4), so it never
// outlives it (Minted.Capped says the cut) and is refused once it, or one of its
// ancestors, is revoked, deleted or expired; it still acts as the pipeline, whose
// access stays its creator's (PL3). Deleting the pipeline deletes it.
func (s *Service) TokenFrom(ctx context.Context, parent *tokens.Principal, org, name string, ttl time.Duration) (tokens.Minted, error) {
	var m tokens.Minted
	err := s.st.Lock(ctx, lockName(org, name), func(ctx context.Context) error {
		row, err := s.Get(ctx, org, name)
		if err != nil {
			return err
		}
		ttl, capped, err := s.creatorLifetime(ctx, row, ttl)
		if err != nil {
			return err
		}
		m, err = s.tokens.Mint(ctx, tokens.MintRequest{Subject: relations.Subject{Object: Object(org, name)}.String(),
			Kind: TokenKind, TTL: ttl, Parent: parent})
		m.Capped = m.Capped || capped
		return err
	})
	return m, err
}

// creatorLifetime bounds a pipeline token by its creator's life (PL3: never more than
// its creator can now, and an expired API key can do nothing): the pipeline of an API
// key gets no token once the key is deleted or expired (409 creator_gone), and none that
// outlives it (capped reports the cut). Users and robots do not expire.
func (s *Service) creatorLifetime(ctx context.Context, row store.Pipeline, ttl time.Duration) (time.Duration, bool, error) {
	creator, err := relations.ParseSubject(row.Creator)
	if err != nil || creator.Object.Type != schema.TypeServiceAccount {
		return ttl, false, err
	}
	name, org, _ := strings.Cut(creator.Object.ID, "@")
	key, err := s.st.GetAPIKey(ctx, org, name)
	left := time.Until(key.ExpiresAt)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && left <= 0:
		return 0, false, apperr.New(apperr.Conflict, "creator_gone",
			"pipeline %s/%s acts for %s, whose API key was deleted or has expired: it gets no token (PL3)", row.Org, row.Name, row.Creator)
	case err != nil:
		return 0, false, err
	}
	if ttl, err = s.tokens.TTL(ttl, false); err != nil {
		return 0, false, err
	}
	if ttl > left {
		return left, true, nil
	}
	return ttl, false, nil
}
