package store

import (
	"context"
	"slices"
	"sort"
)

// Bucket configs and repos of the in-memory store (memData's buckets and repos).

type repoKey struct{ org, name string }

func cloneBucket(b BucketConfig) BucketConfig {
	b.SealedSecret = slices.Clone(b.SealedSecret)
	return b
}

// bucketClash reports whether b would share a nickname with another config of its org,
// or be a second default of it.
func (d *memData) bucketClash(b BucketConfig) bool {
	for id, o := range d.buckets {
		if id == b.ID || o.Org != b.Org {
			continue
		}
		if o.Nickname == b.Nickname || (b.Default && o.Default) {
			return true
		}
	}
	return false
}

func (d *memData) bucketInUse(id string) bool {
	for _, r := range d.repos {
		if r.BucketID == id {
			return true
		}
	}
	return false
}

func (d *memData) CreateBucket(_ context.Context, b BucketConfig) error {
	if _, ok := d.orgs[b.Org]; !ok {
		return ErrNotFound
	}
	if _, ok := d.buckets[b.ID]; ok || d.bucketClash(b) {
		return ErrExists
	}
	setKey(d.undo, d.buckets, b.ID, cloneBucket(b))
	return nil
}

func (d *memData) GetBucket(_ context.Context, org, nickname string) (BucketConfig, error) {
	for _, b := range d.buckets {
		if b.Org == org && b.Nickname == nickname {
			return b, nil
		}
	}
	return BucketConfig{}, ErrNotFound
}

func (d *memData) GetBucketByID(_ context.Context, id string) (BucketConfig, error) {
	b, ok := d.buckets[id]
	if !ok {
		return BucketConfig{}, ErrNotFound
	}
	return b, nil
}

func (d *memData) ListBuckets(_ context.Context, org string) ([]BucketConfig, error) {
	out := []BucketConfig{}
	for _, b := range d.buckets {
		if org == "" || b.Org == org {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Org != out[j].Org {
			return out[i].Org < out[j].Org
		}
		return out[i].Nickname < out[j].Nickname
	})
	return out, nil
}

func (d *memData) UpdateBucket(_ context.Context, b BucketConfig) error {
	old, ok := d.buckets[b.ID]
	if !ok {
		return ErrNotFound
	}
	b.Org, b.CreatedAt, b.CreatedBy = old.Org, old.CreatedAt, old.CreatedBy
	if d.bucketClash(b) {
		return ErrExists
	}
	if !old.SameLocation(b) && d.bucketInUse(b.ID) {
		return ErrConflict
	}
	setKey(d.undo, d.buckets, b.ID, cloneBucket(b))
	return nil
}

func (d *memData) DeleteBucket(_ context.Context, id string) error {
	if _, ok := d.buckets[id]; !ok {
		return ErrNotFound
	}
	if d.bucketInUse(id) {
		return ErrConflict
	}
	delKey(d.undo, d.buckets, id)
	return nil
}

func (d *memData) CreateRepo(_ context.Context, r Repo) error {
	if _, ok := d.orgs[r.Org]; !ok {
		return ErrNotFound
	}
	if b, ok := d.buckets[r.BucketID]; !ok || b.Org != r.Org {
		return ErrNotFound
	}
	k := repoKey{r.Org, r.Name}
	if _, ok := d.repos[k]; ok {
		return ErrExists
	}
	for _, o := range d.repos {
		if o.BucketID == r.BucketID && o.Prefix == r.Prefix {
			return ErrExists
		}
	}
	setKey(d.undo, d.repos, k, r)
	return nil
}

func (d *memData) GetRepo(_ context.Context, org, name string) (Repo, error) {
	r, ok := d.repos[repoKey{org, name}]
	if !ok {
		return Repo{}, ErrNotFound
	}
	return r, nil
}

func (d *memData) listRepos(keep func(Repo) bool) []Repo {
	out := []Repo{}
	for _, r := range d.repos {
		if keep(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Org != out[j].Org {
			return out[i].Org < out[j].Org
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (d *memData) ListRepos(_ context.Context, org string) ([]Repo, error) {
	return d.listRepos(func(r Repo) bool { return r.Org == org }), nil
}

func (d *memData) ListReposInBucket(_ context.Context, bucketID string) ([]Repo, error) {
	return d.listRepos(func(r Repo) bool { return r.BucketID == bucketID }), nil
}

func (d *memData) DeleteRepo(_ context.Context, org, name string) error {
	k := repoKey{org, name}
	if _, ok := d.repos[k]; !ok {
		return ErrNotFound
	}
	delKey(d.undo, d.repos, k)
	return nil
}

// deleteOrgData deletes the repos and bucket configs of org (DeleteOrg).
func (d *memData) deleteOrgData(org string) {
	for k := range d.repos {
		if k.org == org {
			delKey(d.undo, d.repos, k)
		}
	}
	for id, b := range d.buckets {
		if b.Org == org {
			delKey(d.undo, d.buckets, id)
		}
	}
}

// The Memory methods hold the lock around memData's.

func (m *Memory) CreateBucket(ctx context.Context, b BucketConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.CreateBucket(ctx, b)
}

func (m *Memory) GetBucket(ctx context.Context, org, nickname string) (BucketConfig, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetBucket(ctx, org, nickname)
}

func (m *Memory) GetBucketByID(ctx context.Context, id string) (BucketConfig, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetBucketByID(ctx, id)
}

func (m *Memory) ListBuckets(ctx context.Context, org string) ([]BucketConfig, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.ListBuckets(ctx, org)
}

func (m *Memory) UpdateBucket(ctx context.Context, b BucketConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.UpdateBucket(ctx, b)
}

func (m *Memory) DeleteBucket(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.DeleteBucket(ctx, id)
}

func (m *Memory) CreateRepo(ctx context.Context, r Repo) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.CreateRepo(ctx, r)
}

func (m *Memory) GetRepo(ctx context.Context, org, name string) (Repo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetRepo(ctx, org, name)
}

func (m *Memory) ListRepos(ctx context.Context, org string) ([]Repo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.ListRepos(ctx, org)
}

func (m *Memory) ListReposInBucket(ctx context.Context, bucketID string) ([]Repo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.ListReposInBucket(ctx, bucketID)
}

func (m *Memory) DeleteRepo(ctx context.Context, org, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.DeleteRepo(ctx, org, name)
}
