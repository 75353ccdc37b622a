package relations

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
)

// Watch timing: how often PostgreSQL is polled for changes (SpiceDB's minimum is 100
// ms), and how long to wait before restarting a broken watch.
const (
	watchPoll       = 100 * time.Millisecond
	watchRetryMin   = 250 * time.Millisecond
	watchRetryMax   = 5 * time.Second
	watchRetryNoPG  = 30 * time.Second // the datastore has watch disabled
	watchStartLimit = 5 * time.Second
)

// watcher follows the relationship and schema changes of a shared datastore (other
// replicas write it too) and advances the tracker with each one, so that requests
// naming no consistency see them and the check cache drops answers computed before.
// While it is not running, the tracker is incomplete: requests read the newest data.
type watcher struct {
	ds     datastore.Datastore
	seen   *tracker
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

// startWatcher runs the watch until stop; it returns at once.
func startWatcher(ds datastore.Datastore, seen *tracker) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{ds: ds, seen: seen, log: slog.Default(), cancel: cancel, done: make(chan struct{})}
	go w.run(ctx)
	return w
}

// stop ends the watch and waits for it; the tracker is left incomplete, so requests
// read the newest data from then on. Safe to call more than once.
func (w *watcher) stop() {
	w.cancel()
	<-w.done
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	retry := watchRetryMin
	warned := false
	for {
		started, err := w.once(ctx)
		_ = w.seen.setComplete(ctx, false, nil)
		if ctx.Err() != nil {
			return
		}
		if started {
			retry = watchRetryMin
		}
		wait := retry
		var disabled datastore.WatchDisabledError
		if errors.As(err, &disabled) {
			wait = watchRetryNoPG
			if !warned {
				warned = true
				w.log.Warn("relations: the datastore does not offer watch (PostgreSQL needs track_commit_timestamp=on); checks read the newest data", "err", err)
			}
		} else {
			w.log.Warn("relations: watch on relationship changes stopped; checks read the newest data until it is back", "err", err, "retry_in", wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		retry = min(retry*2, watchRetryMax)
	}
}

// once runs one watch from the head revision until it fails. started reports whether
// it got as far as following changes.
func (w *watcher) once(ctx context.Context) (started bool, err error) {
	startCtx, cancel := context.WithTimeout(ctx, watchStartLimit)
	head, err := w.ds.HeadRevision(startCtx)
	cancel()
	if err != nil {
		return false, err
	}
	opts := datastore.WatchOptions{
		Content:            datastore.WatchRelationships | datastore.WatchSchema,
		CheckpointInterval: watchPoll,
	}
	changes, errs := w.ds.Watch(ctx, head.Revision, opts)
	select {
	case err := <-errs: // refused at once, e.g. watch disabled
		return false, errOrClosed(err)
	default:
	}
	if err := w.seen.setComplete(ctx, true, head.Revision); err != nil {
		return false, err
	}
	for {
		select {
		case ch, ok := <-changes:
			if !ok {
				select {
				case err := <-errs:
					return true, errOrClosed(err)
				case <-ctx.Done():
					return true, ctx.Err()
				}
			}
			if ch.IsCheckpoint && len(w.seen.load().pending) == 0 {
				// No change: the newest revision seen still stands (a checkpoint only
				// matters to cover concurrent transactions left pending).
				continue
			}
			if err := w.seen.noteRevision(ctx, ch.Revision); err != nil {
				return true, err
			}
		case err := <-errs:
			return true, errOrClosed(err)
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}

var errWatchClosed = errors.New("watch closed")

func errOrClosed(err error) error {
	if err == nil {
		return errWatchClosed
	}
	return err
}
