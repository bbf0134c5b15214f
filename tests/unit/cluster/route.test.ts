import { describe, expect, test } from "bun:test";
import { route } from "../../../src/cluster/route.ts";
import { keySlot } from "../../../src/cluster/slots.ts";
import { Topology } from "../../../src/cluster/topology.ts";

const b = (s: string) => new TextEncoder().encode(s);

function setup() {
  const topo = new Topology("a".repeat(40), { ip: "127.0.0.1", port: 7001, cport: 17001 });
  const other = topo.addNode("b".repeat(40), { ip: "127.0.0.1", port: 7002, cport: 17002 });
  for (let s = 0; s < 16384; s++) topo.owner[s] = s < 8192 ? topo.myself : other;
  topo.updateState(true);
  return { topo, other };
}

const wire = (e: { code: string; message: string } | null) => (e ? `${e.code} ${e.message}` : null);

describe("routing", () => {
  test("keys in this node's slots run here; others get MOVED with the owner's address", () => {
    const { topo } = setup();
    const mine = keySlot(b("bar")) < 8192 ? b("bar") : b("foo");
    const theirs = keySlot(b("bar")) < 8192 ? b("foo") : b("bar");
    expect(route(topo, { keys: [mine], asking: false, exists: () => true })).toBeNull();
    expect(wire(route(topo, { keys: [theirs], asking: false, exists: () => true }))).toBe(
      `MOVED ${keySlot(theirs)} 127.0.0.1:7002`,
    );
  });

  test("keys of different slots are refused with CROSSSLOT; one hash tag makes them one slot", () => {
    const { topo } = setup();
    expect(
      wire(route(topo, { keys: [b("foo"), b("bar")], asking: false, exists: () => true })),
    ).toBe("CROSSSLOT Keys in request don't hash to the same slot");
    expect(
      route(topo, { keys: [b("{bar}1"), b("{bar}2")], asking: false, exists: () => true }),
    ).toBeNull();
  });

  test("an unassigned slot answers CLUSTERDOWN Hash slot not served", () => {
    const { topo } = setup();
    topo.owner[keySlot(b("bar"))] = null;
    expect(wire(route(topo, { keys: [b("bar")], asking: false, exists: () => true }))).toBe(
      "CLUSTERDOWN Hash slot not served",
    );
  });

  test("a failed cluster answers CLUSTERDOWN The cluster is down", () => {
    const { topo, other } = setup();
    other.fail = true;
    topo.updateState(true);
    expect(wire(route(topo, { keys: [b("bar")], asking: false, exists: () => true }))).toBe(
      "CLUSTERDOWN The cluster is down",
    );
  });

  test("a migrating slot serves keys it still has and sends ASK for missing ones", () => {
    const { topo, other } = setup();
    const slot = keySlot(b("bar"));
    topo.owner[slot] = topo.myself;
    topo.migrating.set(slot, other.id);
    expect(route(topo, { keys: [b("bar")], asking: false, exists: () => true })).toBeNull();
    expect(wire(route(topo, { keys: [b("bar")], asking: false, exists: () => false }))).toBe(
      `ASK ${slot} 127.0.0.1:7002`,
    );
    const keys = [b("{bar}1"), b("{bar}2")];
    const one = (k: Uint8Array) => k[k.length - 1] === 0x31;
    expect(wire(route(topo, { keys, asking: false, exists: one }))).toBe(
      "TRYAGAIN Multiple keys request during rehashing of slot",
    );
  });

  test("an importing slot serves a client that sent ASKING, and MOVEs others to the owner", () => {
    const { topo, other } = setup();
    const slot = keySlot(b("foo"));
    topo.owner[slot] = other;
    topo.importing.set(slot, other.id);
    expect(route(topo, { keys: [b("foo")], asking: true, exists: () => false })).toBeNull();
    expect(wire(route(topo, { keys: [b("foo")], asking: false, exists: () => false }))).toBe(
      `MOVED ${slot} 127.0.0.1:7002`,
    );
  });

  test("a keyless command always runs here, even when the cluster is down", () => {
    const { topo } = setup();
    topo.state = "fail";
    expect(route(topo, { keys: [], asking: false, exists: () => true })).toBeNull();
  });
});
