package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/store"
)

// The pipeline conformance suite (contract D2), on every implementation.
func TestPipelinesMemory(t *testing.T) { testPipelineStore(t, newMemory) }

func TestPipelinesSQLPostgres(t *testing.T) { testPipelineStore(t, newSQL) }

func TestPipelinesCachedMemory(t *testing.T) {
	testPipelineStore(t, func(t *testing.T) store.Store { return store.NewCached(store.NewMemory(), time.Hour) })
}

func testPipelineStore(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	t.Run("CRUD", func(t *testing.T) { testPipelines(t, s) })
	t.Run("TxDeleteWithTokens", func(t *testing.T) { testPipelineTx(t, s) })
	t.Run("Reset", func(t *testing.T) { testPipelineReset(t, s) })
}

func pipe(org, name string, inputs []string, output string) store.Pipeline {
	return store.Pipeline{Org: org, Name: name, Creator: "user:ann@example.com", Inputs: inputs, Output: output,
		CreatedAt: at(0), UpdatedAt: at(0), CreatedBy: "user:ann@example.com"}
}

func testPipelines(t *testing.T, s store.Store) {
	ctx := context.Background()
	clean := pipe("acme", "clean", []string{"acme/raw", "beta/ref"}, "acme/clean")
	agg := pipe("acme", "agg", []string{"acme/clean"}, "acme/agg")
	other := pipe("beta", "clean", []string{}, "beta/x")
	for _, p := range []store.Pipeline{clean, agg, other} {
		require.NoError(t, s.CreatePipeline(ctx, p))
	}
	require.ErrorIs(t, s.CreatePipeline(ctx, pipe("acme", "clean", nil, "acme/y")), store.ErrExists)

	got, err := s.GetPipeline(ctx, "acme", "clean")
	require.NoError(t, err)
	require.Equal(t, clean, got, "inputs kept in order")
	got.Inputs[0] = "mutated"
	again, _ := s.GetPipeline(ctx, "acme", "clean")
	require.Equal(t, "acme/raw", again.Inputs[0], "a returned record is a copy")
	_, err = s.GetPipeline(ctx, "acme", "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.ListPipelines(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []store.Pipeline{agg, clean}, list, "by name")
	all, err := s.ListPipelines(ctx, "")
	require.NoError(t, err)
	require.Equal(t, []store.Pipeline{agg, clean, other}, all, "every org, by org then name")
	none, err := s.ListPipelines(ctx, "gamma")
	require.NoError(t, err)
	require.NotNil(t, none)
	require.Empty(t, none)

	upd := clean
	upd.Inputs, upd.Output, upd.UpdatedAt = []string{"acme/raw2"}, "acme/clean2", at(time.Hour)
	upd.Creator, upd.CreatedBy, upd.CreatedAt = "robot:evil", "robot:evil", at(time.Minute) // never change
	require.NoError(t, s.UpdatePipeline(ctx, upd))
	got, err = s.GetPipeline(ctx, "acme", "clean")
	require.NoError(t, err)
	want := clean
	want.Inputs, want.Output, want.UpdatedAt = []string{"acme/raw2"}, "acme/clean2", at(time.Hour)
	require.Equal(t, want, got)
	require.ErrorIs(t, s.UpdatePipeline(ctx, pipe("acme", "nope", nil, "acme/x")), store.ErrNotFound)

	require.NoError(t, s.DeletePipeline(ctx, "acme", "clean"))
	require.ErrorIs(t, s.DeletePipeline(ctx, "acme", "clean"), store.ErrNotFound)
	_, err = s.GetPipeline(ctx, "acme", "clean")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.DeletePipeline(ctx, "acme", "agg"))
	require.NoError(t, s.DeletePipeline(ctx, "beta", "clean"))
}

// The pipeline service deletes the row and the pipeline's tokens in one transaction;
// a failure undoes both.
func testPipelineTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := pipe("acme", "tx", []string{"acme/a"}, "acme/b")
	require.NoError(t, s.CreatePipeline(ctx, p))
	tok := store.Token{ID: "ptx1", Hash: []byte("h"), Subject: "pipeline:acme/tx", Kind: "pipeline", CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	require.NoError(t, s.CreateToken(ctx, tok))

	boom := errors.New("boom")
	err := s.WithTx(ctx, func(tx store.Tx) error {
		require.NoError(t, tx.DeletePipeline(ctx, "acme", "tx"))
		require.NoError(t, tx.DeleteTokensOf(ctx, "pipeline:acme/tx"))
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = s.GetPipeline(ctx, "acme", "tx")
	require.NoError(t, err, "rolled back")
	_, err = s.GetToken(ctx, "ptx1")
	require.NoError(t, err, "rolled back")

	require.NoError(t, s.WithTx(ctx, func(tx store.Tx) error {
		if err := tx.DeletePipeline(ctx, "acme", "tx"); err != nil {
			return err
		}
		return tx.DeleteTokensOf(ctx, "pipeline:acme/tx")
	}))
	_, err = s.GetPipeline(ctx, "acme", "tx")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetToken(ctx, "ptx1")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// P3: deactivation's Reset takes pipelines with everything else.
func testPipelineReset(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreatePipeline(ctx, pipe("acme", "r", nil, "acme/o")))
	require.NoError(t, s.Reset(ctx))
	list, err := s.ListPipelines(ctx, "")
	require.NoError(t, err)
	require.Empty(t, list)
}
