// Package tool runs the external dump and restore programs of the backup
// drivers: without a shell, with a minimal environment (Env), with secrets
// only in private 0600 files (SecretDir) and never in arguments or the
// environment, with stdout and stdin streamed, and with a failure that
// carries the end of the program's stderr.
package tool
