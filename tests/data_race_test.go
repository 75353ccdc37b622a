package tests

// Issue 9.4 (B4, R4): two deletes of one bucket config and one repo creation on it,
// released together, 200 rounds, on the memory store and on PostgreSQL with two replicas
// (two apps: two SQL stores, two SpiceDBs on one database; tests/apps_test.go), so the lock "bucket/"+ID must hold across
// processes: never a repo on a deleted config, never two successful deletes.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

const bucketRaceRounds = 200

// jittery is the real store with a random pause before the reads and writes the race is
// about (up to 1 ms; up to 5 ms before CreateRepo, long enough for a whole delete), so
// that the rounds interleave them in every order rather than run each call through in one
// go. Without the config lock in repo creation and the store's own check, the memory
// rounds find a repo on a deleted config.
type jittery struct{ store.Store }

func pause(upTo time.Duration) { time.Sleep(time.Duration(rand.Int64N(int64(upTo)))) } //nolint:gosec // G404: jitter

func (j jittery) GetBucketByID(ctx context.Context, id string) (store.BucketConfig, error) {
	pause(time.Millisecond)
	return j.Store.GetBucketByID(ctx, id)
}

func (j jittery) ListReposInBucket(ctx context.Context, id string) ([]store.Repo, error) {
	pause(time.Millisecond)
	return j.Store.ListReposInBucket(ctx, id)
}

func (j jittery) CreateRepo(ctx context.Context, r store.Repo) error {
	pause(5 * time.Millisecond)
	return j.Store.CreateRepo(ctx, r)
}

func (j jittery) DeleteBucket(ctx context.Context, id string) error {
	pause(time.Millisecond)
	return j.Store.DeleteBucket(ctx, id)
}

// jitter is the Config.WrapStore of the apps these races run on.
func jitter(st store.Store) store.Store { return jittery{st} }

func TestB4R4BucketDeleteRepoCreateRace(t *testing.T) {
	for _, backend := range []string{"memory", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			a, b := twoApps(t, backend, jitter)
			require.NoError(t, a.Store().CreateOrg(ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessMembers, CreatedAt: time.Now()}))
			owner := relations.Subject{Object: relations.Object{Type: schema.TypeUser, ID: "ann@example.com"}}
			var repoWon, deleteWon int
			codes := map[string]int{}
			start := time.Now()
			for i := range bucketRaceRounds {
				nick := fmt.Sprintf("b%d", i)
				_, err := a.Buckets().Create(ctx, "user:ann@example.com", "acme", buckets.Input{Nickname: nick,
					URI: fmt.Sprintf("s3://race-%d-data", i), Auth: credentials.Auth{Type: credentials.AuthSelfManaged}})
				require.NoError(t, err)
				errs := releaseTogether(
					func() error { return a.Buckets().Delete(ctx, "acme", nick) },
					func() error { return b.Buckets().Delete(ctx, "acme", nick) },
					func() error { _, _, err := b.Repos().Create(ctx, owner, "acme", nick, nick); return err },
				)
				deletes := 0
				for _, err := range errs {
					if err == nil {
						continue
					}
					var ae *apperr.Error
					code := "other: " + err.Error()
					if errors.As(err, &ae) {
						code = ae.Code
					}
					codes[code]++
				}
				for _, err := range errs[:2] {
					if err == nil {
						deletes++
					}
				}
				require.LessOrEqual(t, deletes, 1, "round %d: two successful deletes %v", i, errs)
				repo, rErr := a.Store().GetRepo(ctx, "acme", nick)
				if errs[2] == nil {
					require.NoError(t, rErr, "round %d", i)
					_, err := a.Store().GetBucketByID(ctx, repo.BucketID)
					require.NoError(t, err, "round %d: a repo on a deleted config", i)
					require.Zero(t, deletes, "round %d: a config deleted under its repo", i)
					repoWon++
				} else {
					require.ErrorIs(t, rErr, store.ErrNotFound, "round %d: a refused creation left a row", i)
					require.Equal(t, 1, deletes, "round %d: %v", i, errs)
					deleteWon++
				}
			}
			fmt.Printf("RACE bucket_delete_vs_repo_create backend=%s rounds=%d repo_won=%d delete_won=%d refusals=%v took=%s\n",
				backend, bucketRaceRounds, repoWon, deleteWon, codes, time.Since(start).Round(time.Millisecond))
		})
	}
}

// releaseTogether runs fns released together by one barrier and returns their errors.
func releaseTogether(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); <-start; errs[i] = fn() }()
	}
	close(start)
	wg.Wait()
	return errs
}
