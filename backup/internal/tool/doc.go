// Package tool runs the external dump and restore programs of the backup
// drivers: without a shell, with secrets only in the environment, with
// stdout and stdin streamed, and with a failure that carries the end of
// the program's stderr.
package tool
