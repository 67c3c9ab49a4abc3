-- GCRA (generic cell rate algorithm) for one key, atomically.
--
-- KEYS[1]  the key's state: its theoretical arrival time (TAT), in
--          microseconds since the Unix epoch, as Redis's own clock counts.
-- ARGV[1]  emission interval T: microseconds to restore one unit.
-- ARGV[2]  burst: the bucket's capacity in units.
-- ARGV[3]  cost: units this call takes (1).
-- ARGV[4]  "" to use Redis TIME; otherwise a time in microseconds (tests).
--
-- Returns {allowed (1|0), TAT - now after the call, in microseconds}.
-- The bucket holds (burst*T - (TAT - now)) / T units; the caller derives
-- remaining units and waits from that.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now
if ARGV[4] == "" then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[4])
end

local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local tolerance = interval * burst
local new_tat = tat + interval * cost
if new_tat - tolerance > now then
  return {0, math.floor(tat - now)}
end
-- The key expires when its bucket would be full again: an absent key and a
-- full bucket are the same state, so Redis never holds idle keys.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor(new_tat - now)}
