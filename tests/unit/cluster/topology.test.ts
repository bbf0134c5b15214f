import { describe, expect, test } from "bun:test";
import { parseNodesFile, renderNodesFile } from "../../../src/cluster/nodes-file.ts";
import { clusterInfo, clusterNodes, nodeLine } from "../../../src/cluster/replies.ts";
import { isNodeId, newNodeId, Topology } from "../../../src/cluster/topology.ts";

const addr = (port: number) => ({ ip: "127.0.0.1", port, cport: port + 10000 });

function threeNodes() {
  const topo = new Topology("a".repeat(40), addr(7001));
  const b = topo.addNode("b".repeat(40), addr(7002));
  const c = topo.addNode("c".repeat(40), addr(7003));
  for (let s = 0; s < 16384; s++) topo.owner[s] = s <= 5460 ? topo.myself : s <= 10922 ? b : c;
  topo.myself.configEpoch = 1;
  b.configEpoch = 2;
  c.configEpoch = 3;
  topo.currentEpoch = 3;
  return { topo, me: topo.myself, b, c };
}

describe("topology", () => {
  test("node ids are 40 lower-case hex characters", () => {
    const id = newNodeId();
    expect(isNodeId(id)).toBe(true);
    expect(isNodeId(id.toUpperCase())).toBe(false);
  });

  test("a claim with a higher config epoch takes a slot over; a lower one does not", () => {
    const { topo, b, c } = threeNodes();
    c.configEpoch = 1;
    topo.applyClaim(c, new Set([6000]));
    expect(topo.owner[6000]).toBe(b);
    c.configEpoch = 9;
    const lost = topo.applyClaim(c, new Set([6000, 100]));
    expect(topo.owner[6000]).toBe(c);
    expect(topo.owner[100]).toBe(c);
    expect(lost).toEqual([100]);
  });

  test("a slot being imported ignores claims until SETSLOT NODE", () => {
    const { topo, b, c } = threeNodes();
    topo.importing.set(6000, b.id);
    c.configEpoch = 9;
    topo.applyClaim(c, new Set([6000]));
    expect(topo.owner[6000]).toBe(b);
  });

  test("on an epoch collision the node with the smaller id takes a new epoch", () => {
    const { topo, b } = threeNodes();
    b.configEpoch = 1;
    topo.handleEpochCollision(b);
    expect(topo.myself.configEpoch).toBe(4);
    expect(topo.currentEpoch).toBe(4);
  });

  test("BUMPEPOCH gives a fresh epoch unless ours is already the highest", () => {
    const { topo } = threeNodes();
    expect(topo.bumpEpochWithoutConsensus()).toBe(true);
    expect(topo.myself.configEpoch).toBe(4);
    expect(topo.bumpEpochWithoutConsensus()).toBe(false);
  });

  test("PFAIL turns into FAIL once a majority of slot owners report it", () => {
    const { topo, b, c } = threeNodes();
    c.pfail = true;
    expect(topo.markFailingIfNeeded(c, 1000, 500)).toBe(false);
    topo.failureReport(c, b, true, 1000);
    expect(topo.markFailingIfNeeded(c, 1000, 500)).toBe(true);
    expect(c.fail).toBe(true);
  });

  test("failure reports older than twice the node timeout do not count", () => {
    const { topo, b, c } = threeNodes();
    c.pfail = true;
    topo.failureReport(c, b, true, 1000);
    expect(topo.markFailingIfNeeded(c, 2100, 500)).toBe(false);
    expect(topo.validReports(c, 2100, 500)).toBe(0);
  });

  test("a returning FAIL node with slots is cleared after twice the node timeout", () => {
    const { topo, c } = threeNodes();
    topo.markFail(c, 1000);
    topo.clearFailureIfNeeded(c, 1500, 500);
    expect(c.fail).toBe(true);
    topo.clearFailureIfNeeded(c, 2001, 500);
    expect(c.fail).toBe(false);
  });

  test("cluster_state fails on an uncovered slot only while full coverage is required", () => {
    const { topo, c } = threeNodes();
    expect(topo.updateState(true)).toBe("ok");
    topo.markFail(c, 1);
    expect(topo.updateState(true)).toBe("fail");
    expect(topo.updateState(false)).toBe("ok");
    topo.owner[0] = null;
    expect(topo.updateState(true)).toBe("fail");
  });

  test("a node that cannot reach a majority of slot owners is in state fail", () => {
    const { topo, b, c } = threeNodes();
    b.pfail = true;
    c.pfail = true;
    expect(topo.updateState(false)).toBe("fail");
  });

  test("CLUSTER RESET HARD forgets everyone and takes a new id and epoch 0", () => {
    const { topo } = threeNodes();
    const id = newNodeId();
    topo.reset(true, id);
    expect(topo.nodes.size).toBe(1);
    expect(topo.myself.id).toBe(id);
    expect(topo.currentEpoch).toBe(0);
    expect(topo.owner.every((o) => o === null)).toBe(true);
  });
});

describe("CLUSTER NODES and nodes.conf", () => {
  test("a node line has Redis's fields and migrating/importing markers", () => {
    const { topo, me, b, c } = threeNodes();
    topo.migrating.set(5, b.id);
    topo.importing.set(6000, b.id);
    c.pfail = true;
    c.pingSent = 123;
    c.pongReceived = 456;
    expect(nodeLine(topo, me, 1_700_000_000_123)).toBe(
      `${me.id} 127.0.0.1:7001@17001 myself,master - 0 1700000000000 1 connected 0-5460 [5->-${b.id}] [6000-<-${b.id}]`,
    );
    expect(nodeLine(topo, c, 0)).toBe(
      `${c.id} 127.0.0.1:7003@17003 master,fail? - 123 456 3 disconnected 10923-16383`,
    );
    expect(clusterNodes(topo, 0).split("\n")).toHaveLength(4);
  });

  test("nodes.conf round-trips ids, addresses, epochs, slots, markers and shard ids", () => {
    const { topo, b } = threeNodes();
    topo.migrating.set(5, b.id);
    topo.importing.set(6000, b.id);
    topo.lastVoteEpoch = 2;
    const text = renderNodesFile(topo);
    expect(text).toContain("vars currentEpoch 3 lastVoteEpoch 2");
    const back = parseNodesFile(text);
    expect(back.myself.id).toBe(topo.myself.id);
    expect(back.myself.shardId).toBe(topo.myself.shardId);
    expect(back.nodes.size).toBe(3);
    expect(back.currentEpoch).toBe(3);
    expect(back.owner[10922]?.id).toBe(b.id);
    expect(back.migrating.get(5)).toBe(b.id);
    expect(back.importing.get(6000)).toBe(b.id);
    expect(renderNodesFile(back)).toBe(text);
  });

  test("CLUSTER INFO is CRLF-separated with Redis's field names", () => {
    const { topo } = threeNodes();
    topo.updateState(true);
    const info = clusterInfo(topo, { sent: new Map([["ping", 2]]), received: new Map() });
    expect(info.startsWith("cluster_state:ok\r\ncluster_slots_assigned:16384\r\n")).toBe(true);
    expect(info).toContain(
      "cluster_known_nodes:3\r\ncluster_size:3\r\ncluster_current_epoch:3\r\ncluster_my_epoch:1\r\n",
    );
    expect(info).toContain(
      "cluster_stats_messages_ping_sent:2\r\ncluster_stats_messages_sent:2\r\n",
    );
    expect(info.endsWith("\r\n")).toBe(true);
  });
});
