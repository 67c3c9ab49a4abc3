// Package local is a backup.Storage in a local directory.
//
// Put writes to a temporary name in the same directory, fsyncs the file,
// renames it into place and fsyncs the directory, so an object is either
// complete and durable or absent; a Put whose reader fails removes its
// temporary file. Temporary names start with ".tmp-" and are never listed.
// A Storage is also the backup.Locker a Repository takes around updates of
// its index: a file lock on .keel-index.lock in the directory, so that
// processes on one host sharing the directory never overwrite each
// other's index updates. Safe for concurrent use.
package local
