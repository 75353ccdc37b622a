// Package faults injects failures into a store's transactions and an engine's writes,
// for tests that prove a failure in the middle of a change leaves nothing half-applied.
// Only tests import it.
package faults

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ErrInjected is the error every injected failure returns.
var ErrInjected = errors.New("injected failure")

// Store fails, on demand, one method of the transactions run through it: FailIn names
// it ("CreateToken", "CreateAPIKey" or "DeleteRobot"); "" fails nothing.
type Store struct {
	store.Store
	FailIn string
}

// WithTx runs fn in inner's transaction, with the method named by FailIn failing.
func (f *Store) WithTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return f.Store.WithTx(ctx, func(tx store.Tx) error { return fn(failingTx{Tx: tx, failIn: f.FailIn}) })
}

type failingTx struct {
	store.Tx
	failIn string
}

func (t failingTx) CreateToken(ctx context.Context, tok store.Token) error {
	if t.failIn == "CreateToken" {
		return ErrInjected
	}
	return t.Tx.CreateToken(ctx, tok)
}

func (t failingTx) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	if t.failIn == "CreateAPIKey" {
		return ErrInjected
	}
	return t.Tx.CreateAPIKey(ctx, k)
}

func (t failingTx) DeleteRobot(ctx context.Context, name string) error {
	if t.failIn == "DeleteRobot" {
		return ErrInjected
	}
	return t.Tx.DeleteRobot(ctx, name)
}

// Engine fails relationship writes while FailWrites is set: SpiceDB down after the store
// transaction committed.
type Engine struct {
	relations.Engine
	FailWrites bool
}

// Write fails with ErrInjected while FailWrites is set.
func (e *Engine) Write(ctx context.Context, u []relations.Update, p []relations.Precondition) (string, error) {
	if e.FailWrites {
		return "", ErrInjected
	}
	return e.Engine.Write(ctx, u, p)
}
