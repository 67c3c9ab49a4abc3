// Package s3 is a backup.Storage on S3-compatible object storage, through
// minio/minio-go/v7.
//
// Put streams with a multipart upload of unknown length: memory is one
// part buffer (Config.PartSize, 16 MiB by default) whatever the backup's
// size; the object appears only when the upload completes, and a reader
// that fails aborts the upload, so a failed backup leaves no object. With
// the default part size an object can reach 10,000 parts = 156 GiB; raise
// PartSize for larger backups.
//
// Credentials are taken from Config (fill them from the environment or a
// file, never from a command line). Safe for concurrent use.
package s3
