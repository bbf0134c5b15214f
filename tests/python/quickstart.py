"""The seed's Quick Start and client example, run with redis-py against a live server.

Usage: python3 quickstart.py PORT. Prints "ok" and exits 0 when every check passes.
"""
import sys
import time

import redis

r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]))

assert r.ping() is True
assert r.set("mykey", "Hello, World!") is True
assert r.get("mykey") == b"Hello, World!"
assert r.set("session:123", "user_data", ex=60) is True
assert 59 <= r.ttl("session:123") <= 60
assert r.expire("mykey", 300) is True
assert r.ttl("mykey") == 300
assert r.delete("mykey", "session:123", "missing") == 2
assert r.exists("mykey") == 0

# Binary-safe values and keys.
blob = bytes(range(256)) * 64
key = b"\xff\x00bin\r\n"
assert r.set(key, blob) is True
assert r.get(key) == blob
assert r.strlen(key) == len(blob)

# Millisecond TTLs and lazy expiry.
r.set("short", "x", px=50)
time.sleep(0.08)
assert r.get("short") is None
assert r.ttl("short") == -2

# Multi-key commands across shards, SCAN iteration.
r.mset({f"k{i}": str(i) for i in range(200)})
assert r.mget(["k1", "k199", "nope"]) == [b"1", b"199", None]
seen = set(r.scan_iter(match="k*", count=17))
assert seen == {f"k{i}".encode() for i in range(200)}, len(seen)

# Pipelines keep order.
p = r.pipeline(transaction=False)
for i in range(1000):
    p.set(f"p{i}", i)
    p.get(f"p{i}")
out = p.execute()
assert out[1::2] == [str(i).encode() for i in range(1000)]

# Transactions: redis-py's pipeline(transaction=True) sends MULTI/EXEC, and WATCH works.
p = r.pipeline(transaction=True)
p.set("tx:a", 1).incr("tx:a").get("tx:a")
assert p.execute() == [True, 2, b"2"]
with r.pipeline() as p:
    p.watch("tx:a")
    current = int(p.get("tx:a"))
    p.multi()
    p.set("tx:a", current + 1)
    assert p.execute() == [True]
assert r.get("tx:a") == b"3"

# Errors come back as exceptions and the connection survives.
try:
    r.execute_command("SET", "a", "b", "EX", "0")
    raise AssertionError("expected an error")
except redis.ResponseError as e:
    assert "invalid expire time" in str(e)
assert r.ping() is True

info = r.info()
assert "redis_version" in info and info["tcp_port"] == int(sys.argv[1])
print("ok")
