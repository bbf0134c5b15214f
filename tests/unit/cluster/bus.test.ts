import { afterEach, describe, expect, test } from "bun:test";
import { ClusterBus } from "../../../src/cluster/bus.ts";
import { Topology } from "../../../src/cluster/topology.ts";
import { silentLogger } from "../../../src/log.ts";

const running: ClusterBus[] = [];
afterEach(() => {
  for (const bus of running.splice(0)) bus.stop();
});

function node(id: string, secret: string, timeoutMs = 500) {
  const topo = new Topology(id.repeat(40), { ip: "127.0.0.1", port: 1, cport: 0 });
  const bus = new ClusterBus(topo, {
    secret,
    host: "127.0.0.1",
    port: 0,
    gossipIntervalMs: 100,
    nodeTimeoutMs: () => timeoutMs,
    log: silentLogger(),
    now: Date.now,
    changed: () => topo.updateState(true),
  });
  bus.start();
  topo.myself.cport = bus.port;
  running.push(bus);
  return { topo, bus };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await Bun.sleep(10);
  }
}

describe("cluster bus", () => {
  test("MEET introduces two nodes, and gossip introduces a third to both", async () => {
    const a = node("a", "s3cret");
    const b = node("b", "s3cret");
    const c = node("c", "s3cret");
    a.bus.meet("127.0.0.1", b.bus.port);
    b.bus.meet("127.0.0.1", c.bus.port);
    await until(() => [a, b, c].every((n) => n.topo.nodes.size === 3));
    expect([...a.topo.nodes.keys()].sort()).toEqual(["a", "b", "c"].map((x) => x.repeat(40)));
  });

  test("slot claims spread with the pings", async () => {
    const a = node("a", "k");
    const b = node("b", "k");
    a.topo.owner[42] = a.topo.myself;
    a.topo.myself.configEpoch = 1;
    a.bus.meet("127.0.0.1", b.bus.port);
    await until(() => b.topo.owner[42]?.id === a.topo.myself.id);
  });

  test("a node holding the wrong secret is refused", async () => {
    const a = node("a", "right");
    const b = node("b", "wrong");
    a.bus.meet("127.0.0.1", b.bus.port);
    await until(() => a.bus.refusedLinks > 0 && b.bus.refusedLinks > 0);
    await Bun.sleep(100);
    expect(a.topo.nodes.size).toBe(1);
    expect(b.topo.nodes.size).toBe(1);
  });

  test("a silent node becomes PFAIL after the node timeout and FAIL with a majority", async () => {
    const nodes = ["a", "b", "c"].map((id) => node(id, "k", 300));
    nodes.forEach((n, i) => {
      for (let s = i * 6000; s < Math.min(16384, (i + 1) * 6000); s++)
        n.topo.owner[s] = n.topo.myself;
      n.topo.myself.configEpoch = i + 1;
    });
    nodes[0]!.bus.meet("127.0.0.1", nodes[1]!.bus.port);
    nodes[0]!.bus.meet("127.0.0.1", nodes[2]!.bus.port);
    await until(() =>
      nodes.every((n) => n.topo.nodes.size === 3 && n.topo.updateState(true) === "ok"),
    );
    const dead = nodes[2]!;
    dead.bus.stop();
    const started = Date.now();
    const deadId = dead.topo.myself.id;
    await until(
      () => nodes.slice(0, 2).every((n) => n.topo.nodes.get(deadId)?.fail === true),
      2000,
    );
    expect(Date.now() - started).toBeLessThan(600);
    expect(nodes[0]!.topo.updateState(true)).toBe("fail");
    expect(nodes[0]!.topo.updateState(false)).toBe("ok");
  });
});
