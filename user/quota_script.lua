-- SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
-- One gateway's sync with its fleet's shared quotas, run atomically by
-- Redis (user/quota_redis.c sends it with EVALSHA). Being atomic, it sees
-- the other members' grants as they stand, so the grants of a bucket never
-- add up to more than its rate, even though members sync at different times.
--
-- KEYS[1]    PREFIX{FLEET}:members, ZSET member -> expiry (ms, Redis clock)
-- KEYS[1+i]  PREFIX{FLEET}:bucket:NAME, HASH: "m:MEMBER" -> "GRANT BURST
--            DEMAND EXPIRES_MS RATE BURST" (the last two as it declared
--            them), "admitted" -> every member's admissions, "rate" and
--            "burst" -> what the last caller declared
-- ARGV       member, ttl_ms, key_ttl_ms, then per bucket: rate, burst,
--            demand, admitted since this member's last sync (integer)
-- Reply      { live members, then per bucket: grant and burst share (bulk
--            strings: Redis would truncate Lua numbers), members, admitted,
--            members declaring another rate or burst }

local member = ARGV[1]
local ttl = tonumber(ARGV[2])
local key_ttl = ARGV[3]
local nb = #KEYS - 1

local function finite(x)
	-- NaN fails both comparisons; tonumber() accepts "inf" and "nan"
	return x ~= nil and x > -math.huge and x < math.huge
end

-- Check everything before the first write: an error reply does not undo
-- what a script already wrote.
if nb < 0 or #ARGV ~= 3 + 4 * nb or member == nil or member == '' or
	not finite(ttl) or ttl <= 0 or not string.match(key_ttl, '^%d+$') or tonumber(key_ttl) <= 0 then
	return redis.error_reply('ERR ratewall quota script: ' .. #KEYS .. ' keys and ' ..
		#ARGV .. ' arguments do not fit')
end
for i = 1, nb do
	local a = 3 + (i - 1) * 4
	local rate, burst, demand = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
	if not (finite(rate) and rate > 0 and finite(burst) and burst >= 0 and
		finite(demand) and demand >= 0 and string.match(ARGV[a + 4], '^%d+$')) then
		return redis.error_reply('ERR ratewall quota script: bad rate, burst, demand or admitted for ' ..
			KEYS[i + 1])
	end
end

-- One clock for the whole fleet: the server's, rounded up. A record
-- outlives the member's own lease (ttl from when it sent this sync) by a
-- margin, so that no other member takes a grant that a kernel may still
-- enforce, even with a wall clock that moves a little.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000)
local margin = math.max(50, math.floor(ttl / 20))
local expires = string.format('%.0f', now + ttl + margin)

redis.call('ZADD', KEYS[1], expires, member)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], key_ttl)
local reply = { redis.call('ZCARD', KEYS[1]) }

-- A member's record: grant, demand, expiry and the rate and burst it
-- declared, or nil when it cannot be read.
local function record(v)
	local g, b, d, e, r, rb = string.match(v, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$')
	if not g then
		return nil
	end
	g, b, d, e, r, rb = tonumber(g), tonumber(b), tonumber(d), tonumber(e), tonumber(r), tonumber(rb)
	if not (finite(g) and g >= 0 and finite(b) and b >= 0 and finite(d) and d >= 0 and finite(e) and
		finite(r) and r > 0 and finite(rb) and rb >= 0) then
		return nil
	end
	return g, d, e, r, rb
end

local mine = 'm:' .. member
for i = 1, nb do
	local key = KEYS[i + 1]
	local a = 3 + (i - 1) * 4
	local rate, burst, demand = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])

	-- The others' live records; expired or unreadable ones go. This
	-- member's own record is being replaced, so it counts for nothing.
	local fields = redis.call('HGETALL', key)
	local demands = { demand }
	local held, mismatched = 0, 0
	local declared_rate, declared_burst = rate, burst
	for j = 1, #fields, 2 do
		local f = fields[j]
		if f ~= mine and string.sub(f, 1, 2) == 'm:' then
			local g, d, e, r, rb = record(fields[j + 1])
			if g == nil or e <= now then
				redis.call('HDEL', key, f)
			else
				demands[#demands + 1] = d
				held = held + g
				-- members that declare another budget (a rollout under way):
				-- everyone shares the smallest, so no declaration is exceeded
				if r ~= declared_rate or rb ~= declared_burst then
					mismatched = mismatched + 1
				end
				rate = math.min(rate, r)
				burst = math.min(burst, rb)
			end
		end
	end

	-- Max-min fair share of the rate (water-filling): demands below the
	-- level are met in full, the others get the level.
	local n = #demands
	table.sort(demands)
	local left, level = rate, math.huge
	for k = 1, n do
		local fair = left / (n - k + 1)
		if demands[k] >= fair then
			level = fair
			left = 0
			break
		end
		left = left - demands[k]
	end
	if left < 0 then
		left = 0
	end
	-- What nobody asks for is spread evenly: idle members hold nothing
	-- while the bucket is contended, and everyone has room when it is not.
	local target = math.min(demand, level) + left / n
	-- Only take what the others do not hold; a member whose target fell
	-- gives it back at its own sync, and the others take it at theirs.
	local free = rate - held
	if free < 0 then
		free = 0
	end
	local grant = math.min(target, free)
	local gburst = burst * grant / rate

	-- %.17g reads back as the same double, so the stored grants add up
	-- exactly as they were computed.
	redis.call('HSET', key, mine, string.format('%.17g %.17g %.17g %s %.17g %.17g', grant, gburst,
		demand, expires, declared_rate, declared_burst), 'rate', ARGV[a + 1], 'burst', ARGV[a + 2])
	local admitted = redis.call('HINCRBY', key, 'admitted', ARGV[a + 4])
	redis.call('PEXPIRE', key, key_ttl)

	reply[#reply + 1] = string.format('%.17g', grant)
	reply[#reply + 1] = string.format('%.17g', gburst)
	reply[#reply + 1] = n
	reply[#reply + 1] = admitted
	reply[#reply + 1] = mismatched
end
return reply
