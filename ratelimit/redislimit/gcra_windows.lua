-- GCRA for one key held to several windows at once, atomically: the cost is
-- taken from every window or from none.
--
-- KEYS[1]  the key's state: a hash whose field i ("1", "2", ...) is window
--          i's theoretical arrival time (TAT), in microseconds since the
--          Unix epoch on Redis's own clock (%.17g; it may have a fraction).
-- ARGV[1]  cost: units this call takes.
-- ARGV[2]  "" to use Redis TIME; otherwise a time in microseconds (tests).
-- ARGV[3], ARGV[4], ...  per window, in order: emission interval T
--          (microseconds to restore one unit), burst.
--
-- Returns {allowed (1|0), then per window TAT - now after the call (or, when
-- refused, before it), in microseconds, rounded down}.
local cost = tonumber(ARGV[1])
local now
if ARGV[2] == "" then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local n = (#ARGV - 2) / 2
local fields = {}
for i = 1, n do fields[i] = tostring(i) end
local stored = redis.call('HMGET', KEYS[1], unpack(fields))

local allowed = 1
local tats, news = {}, {}
for i = 1, n do
  local interval = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(stored[i])
  if not tat or tat < now then tat = now end
  tats[i] = tat
  news[i] = tat + interval * cost
  if news[i] - interval * burst > now then allowed = 0 end
end

local out = {allowed}
if allowed == 0 then
  for i = 1, n do out[i + 1] = math.floor(tats[i] - now) end
  return out
end
local args, ttl = {}, 0
for i = 1, n do
  args[2 * i - 1] = fields[i]
  args[2 * i] = string.format('%.17g', news[i])
  if news[i] - now > ttl then ttl = news[i] - now end
  out[i + 1] = math.floor(news[i] - now)
end
redis.call('HSET', KEYS[1], unpack(args))
-- The key expires when every window would be full again: an absent key and
-- full buckets are the same state, so Redis never holds idle keys.
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000))
return out
