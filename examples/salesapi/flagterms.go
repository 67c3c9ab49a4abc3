package main

import (
	"errors"
	"strings"
)

// app.Config's errors name its Go fields (Config.RateLimit): right for a
// program that embeds the app, meaningless to someone who started the
// binary. inFlagTerms rewrites every start-up error into the flags and
// environment variables that set those fields; run applies it to whatever
// serve returns, so an error a new code path lets through is translated too.
var flagTerms = strings.NewReplacer(
	// Longer names first: a replacer tries its pairs in this order.
	"Config.RateLimitRedisDown", "-rate-limit-redis-down",
	"Config.RateLimitHour", "-rate-limit-hour",
	"Config.RateLimit", "-rate-limit",
	"Config.RateBurst", "the burst (a tenth of -rate-limit, at least 10)",
	"Config.IPRateLimit", "-ip-rate-limit",
	"Config.Instances", "-instances",
	"Config.DataDir", "-data",
	"Config.DatabaseURL", "-db (or SALESAPI_DB_URL)",
	"Config.RedisAddr", "-redis",
	"Config.RedisPrefix", "-redis-prefix",
	"Config.IdempotencyInRedis", "-idempotency-store redis",
	"Config.IdempotencyLease", "-idempotency-lease",
	"Config.APIKeys", "SALESAPI_API_KEYS",
	"Config.BreakerOpen", "-breaker-open",
	"Config.BackupEvery", "-backup-every",
	"Config.InstanceName", "-instance-name",
	"Config.AuditWitnessFile", "-audit-witness",
	"Config.AuditSigningKeyFile", "-audit-signing-key",
	"Config.AuditAcceptRollback", "-audit-accept-rollback",
	"Config.SlowQueryThreshold", "-slow-query",
	"Config.Profiling", "-pprof",
)

// inFlagTerms returns err in the binary's flags, without the app's
// "salesapi: " prefix (run prints its own).
func inFlagTerms(err error) error {
	msg := strings.TrimPrefix(flagTerms.Replace(err.Error()), "salesapi: ")
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
