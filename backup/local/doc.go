// Package local is a backup.Storage in a local directory.
//
// Put writes to a temporary name in the same directory, fsyncs the file,
// renames it into place and fsyncs the directory, so an object is either
// complete and durable or absent; a Put whose reader fails removes its
// temporary file. Temporary names start with ".tmp-" and are never listed.
// Safe for concurrent use.
package local
