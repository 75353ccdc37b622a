package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Run listens on the configured http-addr and serves until ctx is canceled, then shuts
// down gracefully (requests in flight get shutdown-timeout to finish).
func (a *App) Run(ctx context.Context) error {
	ln, err := a.Listen(ctx)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}

// Listen opens the configured http-addr.
func (a *App) Listen(ctx context.Context) (net.Listener, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", a.cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", a.cfg.HTTPAddr, err)
	}
	return ln, nil
}

// Serve serves the API on ln until ctx is canceled, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	a.log.Info("gatehouse listening", "addr", "http://"+ln.Addr().String(), "version", a.cfg.Version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing requests in flight", "timeout", a.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.log.Info("stopped")
	return nil
}
