package redisstore

import "github.com/redis/go-redis/v9"

// A record is one hash. While pending it expires with its lease (PEXPIRE),
// so "the key exists" means "the lease is live"; once completed it expires
// at the end of its retention (PEXPIREAT exp). Redis judges both expiries
// with its own clock, and exp is computed from Redis TIME.
//
// Fields: st (1 pending, 2 completed), fp (fingerprint), tok (holder token),
// exp (retention end, ms since the epoch), code, hdr (JSON), body, omit.

// reserveScript: KEYS[1] record; ARGV fingerprint, token, lease ms, ttl ms.
// Returns {"proceed"}, {"mismatch"}, {"busy", pttl} or
// {"replay", code, hdr, body, omit}.
var reserveScript = redis.NewScript(`
local rec = redis.call('HMGET', KEYS[1], 'st', 'fp', 'code', 'hdr', 'body', 'omit')
if rec[1] then
	if rec[2] ~= ARGV[1] then
		return {'mismatch'}
	end
	if rec[1] == '2' then
		return {'replay', rec[3], rec[4], rec[5], rec[6]}
	end
	return {'busy', redis.call('PTTL', KEYS[1])}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'st', '1', 'fp', ARGV[1], 'tok', ARGV[2], 'exp', tostring(now + tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'proceed'}
`)

// completeScript: KEYS[1] record; ARGV token, code, hdr, body, omit.
// Returns 1, or 0 when the lease is not held (expired, released, taken
// over, or already completed).
var completeScript = redis.NewScript(`
local rec = redis.call('HMGET', KEYS[1], 'st', 'tok', 'exp')
if rec[1] ~= '1' or rec[2] ~= ARGV[1] then
	return 0
end
redis.call('HSET', KEYS[1], 'st', '2', 'code', ARGV[2], 'hdr', ARGV[3], 'body', ARGV[4], 'omit', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], rec[3])
return 1
`)

// releaseScript: KEYS[1] record; ARGV token. Returns 1, or 0 when the lease
// is not held.
var releaseScript = redis.NewScript(`
local rec = redis.call('HMGET', KEYS[1], 'st', 'tok')
if rec[1] ~= '1' or rec[2] ~= ARGV[1] then
	return 0
end
redis.call('DEL', KEYS[1])
return 1
`)
