package sqlsink_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/sqlsink"
)

func newWitness(t *testing.T, db *sql.DB, d sqlsink.Dialect, name string) *sqlsink.Witness {
	t.Helper()
	w, err := sqlsink.NewWitness(sqlsink.WitnessConfig{DB: db, Dialect: d, Name: name})
	require.NoError(t, err)
	require.NoError(t, w.Migrate(context.Background()))
	return w
}

// TestWitnessCatchesARollbackOfTheSQLLog: rows deleted from the end of a
// SQL log back to an earlier close checkpoint verify without a witness, and
// are caught with one, by Verify and by New.
func TestWitnessCatchesARollbackOfTheSQLLog(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db := b.open(t)
			sink, err := sqlsink.New(sqlsink.Config{DB: db, Dialect: b.dialect})
			require.NoError(t, err)
			w := newWitness(t, db, b.dialect, "salesapi-1")
			open := func(accept *audit.AcceptRollback) (*audit.Logger, error) {
				return audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key, Witnesses: []audit.Witness{w}, AcceptRollback: accept})
			}
			for _, n := range []int{1, 3} {
				l, err := open(nil)
				require.NoError(t, err)
				for i := range n {
					require.NoError(t, l.Log(ctx, audit.Event{Action: "order.create", Outcome: audit.Success, Resource: audit.Resource{Type: "order", ID: strings.Repeat("o", i+1)}}))
				}
				require.NoError(t, l.Close())
			}
			head, err := w.Head(ctx)
			require.NoError(t, err)
			assert.Equal(t, uint64(6), head.Seq)

			_, err = db.ExecContext(ctx, "DELETE FROM "+sqlsink.DefaultTable+" WHERE seq > 2")
			require.NoError(t, err)
			_, err = verify(t, sink)
			require.NoError(t, err, "without a witness the cut log looks closed")
			_, err = audit.Verify(ctx, sink, audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, Witness: w})
			require.ErrorIs(t, err, audit.ErrRollback)
			assert.Contains(t, err.Error(), "records 3..6 are missing")
			_, err = open(nil)
			require.ErrorIs(t, err, audit.ErrRollback)

			l, err := open(&audit.AcceptRollback{LogID: head.LogID, WitnessedSeq: head.Seq, WitnessedHash: head.Hash, Reason: "test"})
			require.NoError(t, err)
			require.NoError(t, l.Close())
			rep, err := audit.Verify(ctx, sink, audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, Witness: w, FromStart: true})
			require.NoError(t, err)
			assert.Equal(t, uint64(1), rep.Rollbacks)
			assert.True(t, rep.WitnessMatched)
		})
	}
}

func TestWitnessPublishIsACompareAndSwap(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db := b.open(t)
			w := newWitness(t, db, b.dialect, "a")
			other := newWitness(t, db, b.dialect, "b")
			h1 := audit.Head{LogID: strings.Repeat("1", 32), Seq: 5, Hash: strings.Repeat("a", 64)}
			h2 := audit.Head{LogID: h1.LogID, Seq: 9, Hash: strings.Repeat("b", 64)}

			got, err := w.Head(ctx)
			require.NoError(t, err)
			assert.True(t, got.IsZero())
			require.NoError(t, w.Publish(ctx, audit.Head{}, h1))
			require.ErrorIs(t, w.Publish(ctx, audit.Head{}, h2), audit.ErrWitnessConflict, "a row exists already")
			require.ErrorIs(t, w.Publish(ctx, h2, h1), audit.ErrWitnessConflict, "it does not hold h2")
			require.NoError(t, w.Publish(ctx, h1, h2))
			got, err = w.Head(ctx)
			require.NoError(t, err)
			assert.True(t, got.Equal(h2), "%s", got)
			got, err = other.Head(ctx)
			require.NoError(t, err)
			assert.True(t, got.IsZero(), "names keep separate logs")

			_, err = db.ExecContext(ctx, "UPDATE "+sqlsink.DefaultWitnessTable+" SET seq = -1")
			require.NoError(t, err)
			_, err = w.Head(ctx)
			require.ErrorIs(t, err, audit.ErrMalformed, "a hostile row is refused")
		})
	}
}

func TestWitnessOnAMissingTableIsAnError(t *testing.T) {
	b := backends[2] // SQLite: no server needed
	w, err := sqlsink.NewWitness(sqlsink.WitnessConfig{DB: b.open(t), Dialect: b.dialect, Name: "x", Table: "no_such_table"})
	require.NoError(t, err)
	_, err = w.Head(context.Background())
	require.Error(t, err, "a verifier given a wrong table is not told that nothing was witnessed")
	for _, cfg := range []sqlsink.WitnessConfig{{Dialect: sqlsink.SQLite, Name: "x"}, {DB: &sql.DB{}, Name: "x"},
		{DB: &sql.DB{}, Dialect: sqlsink.SQLite}, {DB: &sql.DB{}, Dialect: sqlsink.SQLite, Name: "x", Table: "a;b"}} {
		_, err := sqlsink.NewWitness(cfg)
		assert.Error(t, err)
	}
}

// TestSQLLogWithDeletedHeadRowsFails: a SQL log has no retention, so rows
// deleted from its start (up to a checkpoint, which would pass as a
// retained log's start) are caught.
func TestSQLLogWithDeletedHeadRowsFails(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			sink, err := sqlsink.New(sqlsink.Config{DB: db, Dialect: b.dialect})
			require.NoError(t, err)
			logEvents(t, sink, 0, 20) // CheckpointEvery 7: seq 8 is a checkpoint
			_, err = db.ExecContext(context.Background(), "DELETE FROM "+sqlsink.DefaultTable+" WHERE seq < 8")
			require.NoError(t, err)
			for _, workers := range []int{1, 4} {
				_, err = audit.Verify(context.Background(), sink, audit.VerifyOptions{PublicKeys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, Workers: workers})
				require.ErrorIs(t, err, audit.ErrChainBroken)
				assert.Contains(t, err.Error(), "records 1..7 were cut from its head")
			}
		})
	}
}

// TestSQLLogVerifiesInParallelAndResumes checks the SQL sink as a
// SegmentedSource and SeekSource on a log longer than one range.
func TestSQLLogVerifiesInParallelAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 70 000 records")
	}
	b := backends[2]
	db := b.open(t)
	sink, err := sqlsink.New(sqlsink.Config{DB: db, Dialect: b.dialect})
	require.NoError(t, err)
	ctx := context.Background()
	l, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key, Mode: audit.Buffered, CheckpointEvery: 1000})
	require.NoError(t, err)
	for i := range 70_000 {
		require.NoError(t, l.Log(ctx, audit.Event{Action: "a", Outcome: audit.Success, Metadata: map[string]any{"i": i}}))
	}
	require.NoError(t, l.Close())
	keys := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	parts, err := sink.Segments(ctx, 1)
	require.NoError(t, err)
	assert.Greater(t, len(parts), 1)
	one, err := audit.Verify(ctx, sink, audit.VerifyOptions{PublicKeys: keys, Workers: 1, FromStart: true})
	require.NoError(t, err)
	par, err := audit.Verify(ctx, sink, audit.VerifyOptions{PublicKeys: keys, Workers: 4, FromStart: true})
	require.NoError(t, err)
	assert.Equal(t, one, par)
	resumed, err := audit.Verify(ctx, sink, audit.VerifyOptions{PublicKeys: keys, Resume: one.Mark})
	require.NoError(t, err)
	assert.Equal(t, one.Counts, resumed.Counts)
	assert.Equal(t, one.Mark.Seq, resumed.ResumedAfter)

	// A row far beyond the rest does not make Segments build ranges up to it.
	_, err = db.ExecContext(ctx, "INSERT INTO "+sqlsink.DefaultTable+" (seq, kind, time_unix_nano, actor_id, action, resource_type, resource_id, outcome, tenant, line) VALUES (4000000000000000000, 'event', 0, '', '', '', '', '', '', x'7b7d')")
	require.NoError(t, err)
	parts, err = sink.Segments(ctx, 1)
	require.NoError(t, err)
	assert.Len(t, parts, 1)
	_, err = audit.Verify(ctx, sink, audit.VerifyOptions{PublicKeys: keys})
	require.ErrorIs(t, err, audit.ErrMalformed)
}

// Names compare byte for byte on every dialect, and publishing the head the
// row already holds is no conflict (MySQL counts changed rows, not matched).
func TestWitnessBehavesAlikeOnEveryDialect(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db := b.open(t)
			a := newWitness(t, db, b.dialect, "salesapi-1")
			other := newWitness(t, db, b.dialect, "SALESAPI-1 ")
			h := audit.Head{LogID: strings.Repeat("a", 32), Seq: 7, Hash: strings.Repeat("b", 64)}
			require.NoError(t, a.Publish(ctx, audit.Head{}, h))
			got, err := other.Head(ctx)
			require.NoError(t, err)
			assert.True(t, got.IsZero(), "another name is another log")
			require.NoError(t, a.Publish(ctx, h, h))

			_, err = db.ExecContext(ctx, "UPDATE "+sqlsink.DefaultWitnessTable+" SET hash = '"+strings.Repeat("c", 5000)+"'")
			if err == nil { // SQLite takes it; the others refuse the over-long value themselves
				_, err = a.Head(ctx)
				require.ErrorIs(t, err, audit.ErrMalformed)
			}
		})
	}
}
