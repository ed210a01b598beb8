"""Live state in Redis, shared by every app node.

Each check-then-write is one Lua script, so two clerks pressing "next" at the same
instant on two nodes get two different citizens (or one gets "queue empty").

Layout, under a prefix (``bb`` by default; tests use their own):
  P:t:<appointment>    JSON ticket while waiting
  P:q:<skill>          sorted set of waiting appointments; see _order
  P:m:<skill>          hash: a waiting appointment's minutes (what is ahead is summed)
  P:c:<call>           JSON call
  P:ac:<appointment>   call id of the appointment's call
  P:kc:<clerk>         call id of the clerk's call
  P:calls              set of call ids
  P:k:<clerk>          JSON presence, expires unless the node refreshes it
  P:clerks             set of clerk ids with presence
  P:epoch              id of this Redis's life; gone after a flush
  P:version            counter bumped by every change; nodes poll it to push updates
The scripts build keys from the prefix, so they assume one Redis, not a cluster.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from rooms.errors import ClerkBusy, NotWaiting, QueueEmpty, SkillMissing
from rooms.state import Ahead, Call, ClerkPresence, Handover, Ticket, stored_moment

FRONT_OFFSET = 1e10  # returned citizens sort before every regular appointment time
PRESENCE_TTL = 90  # seconds; nodes refresh their clerks' presence well within it

_LIB = """
local function order_of(t)
  local score = t.appointment_at
  if t.front then score = score - 1e10 end
  -- rounded, not floored: x * 1000 of a millisecond value may land a hair below it
  local millis = math.floor(t.checked_in_at * 1000 + 0.5)
  local member = string.format('%015d:%s', millis, t.appointment_id)
  return score, member
end

local function enqueue(p, t)
  local score, member = order_of(t)
  redis.call('SET', p .. ':t:' .. t.appointment_id, cjson.encode(t))
  redis.call('ZADD', p .. ':q:' .. t.skill, score, member)
  redis.call('HSET', p .. ':m:' .. t.skill, t.appointment_id, t.duration_minutes)
  redis.call('SADD', p .. ':skills', t.skill)
  redis.call('INCR', p .. ':version')
end

local function dequeue(p, t)
  local _, member = order_of(t)
  redis.call('ZREM', p .. ':q:' .. t.skill, member)
  redis.call('HDEL', p .. ':m:' .. t.skill, t.appointment_id)
  redis.call('DEL', p .. ':t:' .. t.appointment_id)
  redis.call('INCR', p .. ':version')
end

local function open_call(p, t, clerk_id, call_id, now)
  dequeue(p, t)
  t.front = false
  local call = {call_id = call_id, appointment_id = t.appointment_id,
                clerk_id = tonumber(clerk_id), ticket = t, started_at = tonumber(now)}
  local encoded = cjson.encode(call)
  redis.call('SET', p .. ':c:' .. call_id, encoded)
  redis.call('SET', p .. ':ac:' .. t.appointment_id, call_id .. ' ' .. clerk_id)
  redis.call('SET', p .. ':kc:' .. clerk_id, call_id .. ' ' .. t.appointment_id)
  redis.call('SADD', p .. ':calls', call_id)
  return encoded
end

local function close_call(p, call_id)
  local encoded = redis.call('GET', p .. ':c:' .. call_id)
  if not encoded then return nil end
  local call = cjson.decode(encoded)
  redis.call('DEL', p .. ':c:' .. call_id)
  if redis.call('GET', p .. ':ac:' .. call.appointment_id) == call_id .. ' ' .. call.clerk_id then
    redis.call('DEL', p .. ':ac:' .. call.appointment_id)
  end
  if redis.call('GET', p .. ':kc:' .. call.clerk_id) == call_id .. ' ' .. call.appointment_id then
    redis.call('DEL', p .. ':kc:' .. call.clerk_id)
  end
  redis.call('SREM', p .. ':calls', call_id)
  redis.call('INCR', p .. ':version')
  return call
end
"""

_CHECK_IN = (
    _LIB
    + """
local p, encoded = ARGV[1], ARGV[2]
local t = cjson.decode(encoded)
local existing = redis.call('GET', p .. ':t:' .. t.appointment_id)
if existing then return {'waiting', existing} end
local pointer = redis.call('GET', p .. ':ac:' .. t.appointment_id)
if pointer then
  local call = redis.call('GET', p .. ':c:' .. string.match(pointer, '^(%S+)'))
  if call then return {'in_call', cjson.encode(cjson.decode(call).ticket)} end
end
enqueue(p, t)
return {'waiting', encoded}
"""
)

_LEAVE = (
    _LIB
    + """
local p, appointment_id = ARGV[1], ARGV[2]
local encoded = redis.call('GET', p .. ':t:' .. appointment_id)
if not encoded then return 0 end
dequeue(p, cjson.decode(encoded))
return 1
"""
)

_CLAIM_NEXT = (
    _LIB
    + """
local p, clerk_id, call_id, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', p .. ':kc:' .. clerk_id) == 1 then return {'err', 'clerk_busy'} end
local best_score, best_member
for i = 5, #ARGV do
  local head = redis.call('ZRANGE', p .. ':q:' .. ARGV[i], 0, 0, 'WITHSCORES')
  if #head > 0 then
    local score = tonumber(head[2])
    local earlier = best_score == nil or score < best_score
    if earlier or (score == best_score and head[1] < best_member) then
      best_score, best_member = score, head[1]
    end
  end
end
if best_member == nil then return {'err', 'queue_empty'} end
local appointment_id = string.sub(best_member, 17)
local t = cjson.decode(redis.call('GET', p .. ':t:' .. appointment_id))
return {'ok', open_call(p, t, clerk_id, call_id, now)}
"""
)

_CLAIM = (
    _LIB
    + """
local p, clerk_id, call_id, now, appointment_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', p .. ':kc:' .. clerk_id) == 1 then return {'err', 'clerk_busy'} end
local encoded = redis.call('GET', p .. ':t:' .. appointment_id)
if not encoded then return {'err', 'not_waiting'} end
local t = cjson.decode(encoded)
local allowed = false
for i = 6, #ARGV do if ARGV[i] == t.skill then allowed = true end end
if not allowed then return {'err', 'skill_missing'} end
return {'ok', open_call(p, t, clerk_id, call_id, now)}
"""
)

_END = (
    _LIB
    + """
local call = close_call(ARGV[1], ARGV[2])
if call == nil then return nil end
return cjson.encode(call)
"""
)

_REQUEUE = (
    _LIB
    + """
local p = ARGV[1]
local call = close_call(p, ARGV[2])
if call == nil then return nil end
local t = call.ticket
t.front = true
if ARGV[3] ~= '' then
  t.skill = ARGV[3]
  t.handover = cjson.decode(ARGV[4])
end
enqueue(p, t)
return cjson.encode(t)
"""
)

_RESTORE = (
    _LIB
    + """
local p, encoded = ARGV[1], ARGV[2]
local call = cjson.decode(encoded)
local existing = redis.call('GET', p .. ':c:' .. call.call_id)
if existing then return existing end
local waiting = redis.call('GET', p .. ':t:' .. call.appointment_id)
if waiting then dequeue(p, cjson.decode(waiting)) end
redis.call('SET', p .. ':c:' .. call.call_id, encoded)
redis.call('SET', p .. ':ac:' .. call.appointment_id, call.call_id .. ' ' .. call.clerk_id)
redis.call('SET', p .. ':kc:' .. call.clerk_id, call.call_id .. ' ' .. call.appointment_id)
redis.call('SADD', p .. ':calls', call.call_id)
redis.call('INCR', p .. ':version')
return encoded
"""
)

_AHEAD = (
    _LIB
    + """
local p, appointment_id = ARGV[1], ARGV[2]
local encoded = redis.call('GET', p .. ':t:' .. appointment_id)
if not encoded then return nil end
local t = cjson.decode(encoded)
local _, member = order_of(t)
local rank = redis.call('ZRANK', p .. ':q:' .. t.skill, member)
if not rank then return nil end
local minutes = 0
local members = rank > 0 and redis.call('ZRANGE', p .. ':q:' .. t.skill, 0, rank - 1) or {}
for first = 1, #members, 1000 do  -- HMGET in chunks: Lua's unpack has a limit
  local ids = {}
  for i = first, math.min(first + 999, #members) do
    ids[#ids + 1] = string.sub(members[i], 17)
  end
  local found = redis.call('HMGET', p .. ':m:' .. t.skill, unpack(ids))
  for i, value in ipairs(ids) do
    if found[i] then
      minutes = minutes + tonumber(found[i])
    else  -- checked in before this hash was kept
      local other = redis.call('GET', p .. ':t:' .. value)
      if other then minutes = minutes + cjson.decode(other).duration_minutes end
    end
  end
end
return {rank, minutes}
"""
)

_ERRORS = {
    "clerk_busy": ClerkBusy,
    "queue_empty": QueueEmpty,
    "not_waiting": NotWaiting,
    "skill_missing": SkillMissing,
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ticket(encoded: Any) -> Ticket:
    return Ticket.from_dict(json.loads(_text(encoded)))


def _call(encoded: Any) -> Call:
    return Call.from_dict(json.loads(_text(encoded)))


class RedisStore:
    def __init__(self, redis: Redis, prefix: str = "bb") -> None:
        self.redis = redis
        self.prefix = prefix
        register = redis.register_script
        self._check_in = register(_CHECK_IN)
        self._leave = register(_LEAVE)
        self._claim_next = register(_CLAIM_NEXT)
        self._claim = register(_CLAIM)
        self._end = register(_END)
        self._requeue = register(_REQUEUE)
        self._restore = register(_RESTORE)
        self._ahead = register(_AHEAD)

    @classmethod
    def from_url(cls, url: str, prefix: str = "bb") -> RedisStore:
        return cls(Redis.from_url(url), prefix)

    def _key(self, *parts: object) -> str:
        return ":".join([self.prefix, *(str(p) for p in parts)])

    async def ping(self) -> None:
        await self.redis.ping()

    # -- waiting room --------------------------------------------------------------

    async def check_in(self, ticket: Ticket) -> Ticket:
        # Lua's cjson keeps 14 significant digits: milliseconds survive, finer does not,
        # and the queue member is derived from the stored value.
        ticket = replace(
            ticket,
            appointment_at=stored_moment(ticket.appointment_at),
            checked_in_at=stored_moment(ticket.checked_in_at),
        )
        encoded = json.dumps(ticket.to_dict())
        _state, stored = await self._check_in(args=[self.prefix, encoded])
        return _ticket(stored)

    async def leave(self, appointment_id: str) -> bool:
        return bool(await self._leave(args=[self.prefix, appointment_id]))

    async def waiting_ticket(self, appointment_id: str) -> Ticket | None:
        encoded = await self.redis.get(self._key("t", appointment_id))
        return None if encoded is None else _ticket(encoded)

    async def ahead(self, appointment_id: str) -> Ahead | None:
        found = await self._ahead(args=[self.prefix, appointment_id])
        return None if found is None else Ahead(int(found[0]), int(found[1]))

    async def waiting(self, skills: Collection[str] | None = None) -> list[Ticket]:
        if skills is None:
            skills = [_text(s) for s in await self.redis.smembers(self._key("skills"))]
        keys = []
        for skill in sorted(set(skills)):
            members = await self.redis.zrange(self._key("q", skill), 0, -1)
            keys += [self._key("t", _text(m)[16:]) for m in members]
        if not keys:
            return []
        tickets = [_ticket(v) for v in await self.redis.mget(keys) if v is not None]
        return sorted(tickets, key=Ticket.order)

    # -- calls -----------------------------------------------------------------------

    def _result(self, reply: Any) -> Call:
        status, value = _text(reply[0]), _text(reply[1])
        if status == "err":
            raise _ERRORS[value]()
        return _call(value)

    async def claim_next(
        self, clerk_id: int, skills: Collection[str], call_id: str, now: float
    ) -> Call:
        args: list[str | int] = [self.prefix, clerk_id, call_id, repr(round(now, 3))]
        args += sorted(skills)
        return self._result(await self._claim_next(args=args))

    async def claim(
        self, clerk_id: int, appointment_id: str, skills: Collection[str], call_id: str, now: float
    ) -> Call:
        args: list[str | int] = [self.prefix, clerk_id, call_id, repr(round(now, 3))]
        args += [appointment_id, *sorted(skills)]
        return self._result(await self._claim(args=args))

    async def call(self, call_id: str) -> Call | None:
        encoded = await self.redis.get(self._key("c", call_id))
        return None if encoded is None else _call(encoded)

    async def _call_via(self, pointer_key: str) -> Call | None:
        pointer = await self.redis.get(pointer_key)
        return None if pointer is None else await self.call(_text(pointer).split(" ", 1)[0])

    async def clerk_serving(self, appointment_id: str) -> int | None:
        """One round trip: the relay's hot path reads the pointer, not the call."""
        pointer = await self.redis.get(self._key("ac", appointment_id))
        return None if pointer is None else int(_text(pointer).split(" ", 1)[1])

    async def appointment_served_by(self, clerk_id: int) -> str | None:
        pointer = await self.redis.get(self._key("kc", clerk_id))
        return None if pointer is None else _text(pointer).split(" ", 1)[1]

    async def clerk(self, clerk_id: int) -> ClerkPresence | None:
        encoded = await self.redis.get(self._key("k", clerk_id))
        return None if encoded is None else ClerkPresence.from_dict(json.loads(_text(encoded)))

    async def call_of_appointment(self, appointment_id: str) -> Call | None:
        return await self._call_via(self._key("ac", appointment_id))

    async def call_of_clerk(self, clerk_id: int) -> Call | None:
        return await self._call_via(self._key("kc", clerk_id))

    async def calls(self) -> list[Call]:
        ids = await self.redis.smembers(self._key("calls"))
        if not ids:
            return []
        values = await self.redis.mget([self._key("c", _text(i)) for i in ids])
        return sorted((_call(v) for v in values if v is not None), key=lambda c: c.started_at)

    async def end_call(self, call_id: str) -> Call | None:
        encoded = await self._end(args=[self.prefix, call_id])
        return None if encoded is None else _call(encoded)

    async def requeue(
        self, call_id: str, *, skill: str | None = None, handover: Handover | None = None
    ) -> Ticket | None:
        moved = json.dumps(handover.to_dict() if handover else None)
        encoded = await self._requeue(args=[self.prefix, call_id, skill or "", moved])
        return None if encoded is None else _ticket(encoded)

    async def restore_call(self, call: Call) -> Call:
        ticket = replace(call.ticket, checked_in_at=round(call.ticket.checked_in_at, 3))
        call = replace(call, ticket=ticket, started_at=round(call.started_at, 3))
        return _call(await self._restore(args=[self.prefix, json.dumps(call.to_dict())]))

    # -- presence --------------------------------------------------------------------

    async def set_clerk(self, presence: ClerkPresence) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(
                self._key("k", presence.clerk_id), json.dumps(presence.to_dict()), ex=PRESENCE_TTL
            )
            pipe.sadd(self._key("clerks"), presence.clerk_id)
            pipe.incr(self._key("version"))
            await pipe.execute()

    async def remove_clerk(self, clerk_id: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key("k", clerk_id))
            pipe.srem(self._key("clerks"), clerk_id)
            pipe.incr(self._key("version"))
            await pipe.execute()

    async def clerks(self) -> list[ClerkPresence]:
        ids = sorted(int(_text(i)) for i in await self.redis.smembers(self._key("clerks")))
        if not ids:
            return []
        values = await self.redis.mget([self._key("k", i) for i in ids])
        gone = [i for i, v in zip(ids, values, strict=True) if v is None]
        if gone:  # their node stopped refreshing them: it is gone
            await self.redis.srem(self._key("clerks"), *gone)
        return [ClerkPresence.from_dict(json.loads(_text(v))) for v in values if v is not None]

    # -- lifecycle -------------------------------------------------------------------

    async def epoch(self) -> str:
        key = self._key("epoch")
        await self.redis.set(key, uuid.uuid4().hex, nx=True)
        return _text(await self.redis.get(key))

    async def version(self) -> int:
        return int(await self.redis.get(self._key("version")) or 0)

    async def close(self) -> None:
        await self.redis.aclose()
