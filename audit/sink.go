package audit

import (
	"context"
	"iter"
	"time"
)

// Sink stores records. A Logger calls its sinks from one goroutine, so a
// Sink need not be safe for concurrent Append; Lines may run concurrently
// with Append.
type Sink interface {
	// Open prepares the sink and reports the last record it holds, so that
	// the Logger continues its chain, and any torn tail it discarded.
	Open(ctx context.Context) (OpenState, error)
	// Append stores recs, in order, atomically: all of them or, when it
	// returns an error, none. With sync it returns only when they are
	// durable.
	Append(ctx context.Context, recs []*Record, sync bool) error
	// Close releases the sink. Close does not write; the Logger seals the log
	// before it closes its sinks.
	Close() error
}

// RotatingSink is a Sink made of segments that the Logger rotates, such as
// FileSink; a Sink of your own implements it to be rotated the same way.
// After each write that a sink stored, the Logger asks RotationDue; when it
// says so, the Logger calls Rotate, then writes a signed checkpoint
// ("rotate") as the new segment's first record, so that a segment verifies
// on its own once retention removes the ones before it. Once that checkpoint
// is stored it calls Retain. The Logger calls these methods from its writer
// goroutine, as it calls Append.
type RotatingSink interface {
	Sink
	// RotationDue reports whether the current segment is due to be closed
	// (full, or old enough). It must report false for an empty segment.
	RotationDue(now time.Time) bool
	// Rotate makes the current segment durable, closes it and starts one
	// whose first record will be nextSeq. After an error the Logger keeps
	// appending to the sink and asks RotationDue again after the next write.
	Rotate(nextSeq uint64) error
	// SegmentEmpty reports whether the current segment holds no record yet.
	// A crash between Rotate and the checkpoint that opens the segment
	// leaves it empty; New then writes that checkpoint first.
	SegmentEmpty() bool
	// Retain removes what the sink's retention allows at now (nothing, if
	// it keeps everything). What remains must still start with a segment's
	// opening checkpoint. An error is logged; the log goes on.
	Retain(now time.Time) error
}

// Syncer is a Sink that can make its buffered appends durable. In Buffered
// mode the Logger appends without sync and calls Sync every
// Config.SyncInterval; a Sink without it is taken to be durable on Append.
type Syncer interface {
	Sink
	// Sync makes every record appended so far durable.
	Sync() error
}

// OpenState is what a Sink found when it was opened.
type OpenState struct {
	// Last is the last record held, nil for an empty sink.
	Last *Record
	// Recovered is set when a torn last line (a write cut short by a crash)
	// was discarded; the Logger records it in a recovery record.
	Recovered *Recovery
}

// Line is one stored record as a Source yields it.
type Line struct {
	// Bytes is the record's exact stored encoding, without the newline.
	Bytes []byte
	// Where locates the record for error messages.
	Where string
	// Torn is set for a last line of a file that has no newline: a write that
	// was cut short.
	Torn bool
	// Start is set on the first line of a segment whose name says which
	// record it holds first (a FileSink segment is named by the seq of its
	// first record): that seq. Verify checks that the line is that record,
	// so that records cut from the head of a segment are detected.
	Start uint64

	zeroStart bool // the first line of a segment named 0, which Start cannot say
}

// Source is a log that can be read back in order, for Verify and Query. The
// file and SQL sinks are Sources; DirSource reads a file sink's directory
// without writing.
type Source interface {
	// Lines yields the stored lines in log order, streaming. Iteration stops
	// at the first error, which is yielded.
	Lines(ctx context.Context) iter.Seq2[Line, error]
}

// SeekSource is a Source that can start reading near a sequence number.
// Verify resumes from an earlier verified checkpoint through it
// (VerifyOptions.Resume), and New reads a witnessed record back with it.
type SeekSource interface {
	Source
	// LinesFrom yields the lines in log order from the one holding record
	// seq. It may yield a few lines before it (a reader skips them), and
	// yields a line whose seq it cannot tell.
	LinesFrom(ctx context.Context, seq uint64) iter.Seq2[Line, error]
}

// SegmentedSource is a Source made of parts that can be read independently:
// Verify checks the parts in parallel (VerifyOptions.Workers), then that
// each continues the one before.
type SegmentedSource interface {
	Source
	// Segments returns the parts in log order, from the one holding record
	// from (1: all of them); the first may yield lines before from. The
	// parts' lines joined are what LinesFrom(from) would yield.
	Segments(ctx context.Context, from uint64) ([]Source, error)
}
