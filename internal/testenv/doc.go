// Package testenv gives integration tests the real services they talk to:
// PostgreSQL, MariaDB/MySQL and Redis.
//
// Each helper finds its service at the default local address, or at the
// address in an environment variable:
//
//	service     default                                                 variable
//	PostgreSQL  postgres://postgres@127.0.0.1:5432/test?sslmode=disable     KEEL_TEST_POSTGRES_DSN
//	MySQL       root@tcp(127.0.0.1:3306)/test                           KEEL_TEST_MYSQL_DSN
//	Redis       127.0.0.1:6379                                          KEEL_TEST_REDIS_ADDR
//
// Every call hands the test an isolated namespace — a fresh PostgreSQL schema
// or database, a fresh MySQL database, a fresh Redis key prefix — that is
// dropped when the test ends, so tests may run in parallel and leave nothing
// behind.
//
// When a service cannot be reached the test is skipped with a message naming
// the service and the variable to set, so `go test ./...` passes on a machine
// with only Go installed. When the environment variable CI is "true" an absent
// service fails the test instead: CI must never pass by skipping.
package testenv
