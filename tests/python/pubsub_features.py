"""redis-py (RESP2) against one server: pub/sub, keyspace notifications, client tracking with
REDIRECT, CLIENT PAUSE/UNPAUSE. Prints one line per observation; the integration test runs it
against redis-server and against Blobasaur and compares the two outputs.

Usage: pubsub_features.py <port | unix socket path>
"""
import sys
import time

import redis


def connect():
    where = sys.argv[1]
    if where.isdigit():
        return redis.Redis(host="127.0.0.1", port=int(where))
    return redis.Redis(unix_socket_path=where)


def message(p, timeout=2.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = p.get_message(timeout=0.05)
        if m is not None:
            return m
    return None


def show(label, value):
    print(f"{label}: {value!r}")


r = connect()
r.flushall()

# Pub/sub.
p = r.pubsub()
p.subscribe("news")
show("subscribe", message(p))
p.psubscribe("n*")
show("psubscribe", message(p))
show("publish", r.publish("news", b"hi\x00"))
show("message", message(p))
show("pmessage", message(p))
show("numsub", r.pubsub_numsub("news", "other"))
show("numpat", r.pubsub_numpat())
show("channels", r.pubsub_channels("ne*"))
p.unsubscribe("news")
show("unsubscribe", message(p))
p.punsubscribe()
show("punsubscribe", message(p))
p.close()

# Keyspace notifications.
r.config_set("notify-keyspace-events", "KEA")
show("notify flags", r.config_get("notify-keyspace-events"))
p = r.pubsub()
p.psubscribe("__keyevent@0__:*")
message(p)
r.set("k", "v")
r.hset("h", mapping={"a": 1})
r.expire("k", 100)
r.delete("k", "h")
for _ in range(5):
    show("event", message(p))
p.close()
r.config_set("notify-keyspace-events", "")

# Client tracking, RESP2 with REDIRECT to a subscriber of __redis__:invalidate.
pool = connect().connection_pool
listener = pool.get_connection("_")
listener.send_command("CLIENT", "ID")
listener_id = listener.read_response()
listener.send_command("SUBSCRIBE", "__redis__:invalidate")
show("listener subscribed", listener.read_response())
tracked = connect()
tracked.set("tk", "0")
show("tracking on", tracked.client_tracking_on(clientid=listener_id))
show("getredir is the listener", tracked.client_getredir() == listener_id)
show("tracked read", tracked.get("tk"))
r.set("tk", "1")
show("invalidation", listener.read_response())
r.set("tk", "2")
show("no second invalidation before a new read", listener.can_read(timeout=0.2))
tracked.get("tk")
r.flushall()
show("flush invalidation", listener.read_response())
tracked.client_tracking_off()
tracked.client_tracking_on(clientid=listener_id, bcast=True, prefix=["user:"])
r.set("user:1", "x")
r.set("other", "x")
show("bcast invalidation", listener.read_response())
show("nothing for other prefixes", listener.can_read(timeout=0.2))
tracked.client_tracking_off()
show("tracking off info", tracked.client_trackinginfo())
tracked.client_tracking_on(clientid=listener_id, optin=True)
tracked.execute_command("CLIENT", "CACHING", "YES")
show("optin info", [x if not isinstance(x, int) else "id" for x in tracked.client_trackinginfo()])
tracked.client_tracking_off()
show("getredir before", tracked.client_getredir())
try:
    tracked.client_tracking_on(clientid=999999)
except redis.ResponseError as e:
    show("bad redirect", str(e))
try:
    tracked.execute_command("CLIENT", "TRACKING", "ON", "PREFIX", "a")
except redis.ResponseError as e:
    show("prefix without bcast", str(e))
show("getredir", tracked.client_getredir())
tracked.client_tracking_on(clientid=listener_id, bcast=True, prefix=["a", "b"], noloop=True)
show("info", [x if not isinstance(x, int) else "id" for x in tracked.client_trackinginfo()])
show("tracking off", tracked.client_tracking_off())

# CLIENT PAUSE WRITE holds writes, lets reads through.
show("pause", r.client_pause(300, all=False))
other = connect()
t0 = time.time()
show("read during pause", other.get("nothing"))
show("read was fast", time.time() - t0 < 0.2)
t0 = time.time()
other.set("w", "1")
show("write was held", time.time() - t0 >= 0.2)
show("pause again", r.client_pause(5000, all=False))
show("unpause", r.client_unpause())
t0 = time.time()
other.set("w", "2")
show("write after unpause was fast", time.time() - t0 < 0.5)
print("ok")
