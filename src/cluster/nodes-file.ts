/**
 * nodes.conf in the data dir: the topology as CLUSTER NODES lines plus a `vars` line, as Redis
 * keeps it, so the cluster survives restarts. Written atomically (temporary file, fsync,
 * rename, fsync of the directory): a crash leaves the old file or the new one, never half.
 * The shard id rides after the address (`ip:port@cport,,shard-id=<hex>`, as Redis 7.2).
 * Live state (PFAIL, links, ping times) is not restored: a restarted node learns it again.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import { allRanges, nodeLine } from "./replies.ts";
import { SLOT_COUNT } from "./slots.ts";
import { isNodeId, Topology } from "./topology.ts";

export const NODES_FILE = "nodes.conf";

export function nodesFilePath(dataDir: string): string {
  return join(dataDir, NODES_FILE);
}

export function renderNodesFile(topo: Topology): string {
  const ranges = allRanges(topo);
  let out = "";
  for (const node of topo.nodes.values()) out += `${nodeLine(topo, node, 0, true, ranges)}\n`;
  out += `vars currentEpoch ${topo.currentEpoch} lastVoteEpoch ${topo.lastVoteEpoch}\n`;
  return out;
}

function nextGeneration(topo: Topology): number {
  return ++topo.saves.rendered;
}

function markSaved(topo: Topology, gen: number): void {
  if (gen > topo.saves.saved) topo.saves.saved = gen;
}

export function saveNodesFile(dataDir: string, topo: Topology): void {
  const path = nodesFilePath(dataDir);
  const tmp = `${path}.tmp-${process.pid}`;
  const gen = nextGeneration(topo);
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, renderNodesFile(topo));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  markSaved(topo, gen);
  try {
    const dir = openSync(dataDir, "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some filesystems refuse to open a directory for fsync; the rename is still atomic.
  }
  topo.dirty = false;
}

/**
 * The same atomic write without blocking the event loop (the fsyncs run on libuv's thread
 * pool). The text is rendered at the call, so it holds every change made before it.
 */
export async function saveNodesFileAsync(dataDir: string, topo: Topology): Promise<void> {
  const path = nodesFilePath(dataDir);
  const tmp = `${path}.tmp-${process.pid}-async`;
  const gen = nextGeneration(topo);
  const text = renderNodesFile(topo);
  topo.dirty = false;
  const file = await open(tmp, "w");
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  // A blocking save of a newer state happened meanwhile: this text is stale.
  if (topo.saves.saved > gen) return;
  await rename(tmp, path);
  markSaved(topo, gen);
  try {
    const dir = await open(dataDir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some filesystems refuse to fsync a directory; the rename is still atomic.
  }
}

export class NodesFileError extends Error {}

/** The topology stored in the data dir, or null when there is no nodes.conf yet. */
export function loadNodesFile(dataDir: string): Topology | null {
  const path = nodesFilePath(dataDir);
  if (!existsSync(path)) return null;
  const text = readFileSync(path, "utf8");
  return parseNodesFile(text, path);
}

interface ParsedLine {
  id: string;
  ip: string;
  port: number;
  cport: number;
  shardId: string | null;
  myself: boolean;
  fail: boolean;
  configEpoch: number;
  slots: string[];
}

export function parseNodesFile(text: string, where = NODES_FILE): Topology {
  const lines: ParsedLine[] = [];
  let currentEpoch = 0;
  let lastVoteEpoch = 0;
  const bad = (n: number, why: string) => new NodesFileError(`${where}:${n + 1}: ${why}`);
  text.split("\n").forEach((raw, n) => {
    const line = raw.trim();
    if (line === "") return;
    const parts = line.split(" ");
    if (parts[0] === "vars") {
      for (let i = 1; i + 1 < parts.length; i += 2) {
        if (parts[i] === "currentEpoch") currentEpoch = Number(parts[i + 1]);
        if (parts[i] === "lastVoteEpoch") lastVoteEpoch = Number(parts[i + 1]);
      }
      return;
    }
    if (parts.length < 8 || !isNodeId(parts[0]!)) throw bad(n, "not a node line");
    const [addr, ...aux] = parts[1]!.split(",");
    const m = /^(.*):(\d+)@(\d+)$/.exec(addr!);
    if (!m) throw bad(n, `bad address '${parts[1]}'`);
    const shard = aux.find((a) => a.startsWith("shard-id="))?.slice("shard-id=".length) ?? null;
    const flags = parts[2]!.split(",");
    lines.push({
      id: parts[0]!,
      ip: m[1]!,
      port: Number(m[2]),
      cport: Number(m[3]),
      shardId: shard && isNodeId(shard) ? shard : null,
      myself: flags.includes("myself"),
      fail: flags.includes("fail"),
      configEpoch: Number(parts[6]),
      slots: parts.slice(8),
    });
  });
  const me = lines.filter((l) => l.myself);
  if (me.length !== 1) throw new NodesFileError(`${where}: expected exactly one 'myself' node`);
  const self = me[0]!;
  const topo = new Topology(self.id, self, self.shardId ?? undefined);
  topo.currentEpoch = currentEpoch;
  topo.lastVoteEpoch = lastVoteEpoch;
  for (const l of lines) {
    const node = l.myself ? topo.myself : topo.addNode(l.id, l, false, l.shardId ?? undefined);
    node.configEpoch = l.configEpoch;
    node.fail = l.fail && !l.myself;
    for (const s of l.slots) {
      const mig = /^\[(\d+)->-([0-9a-f]{40})\]$/.exec(s);
      const imp = /^\[(\d+)-<-([0-9a-f]{40})\]$/.exec(s);
      if (mig) topo.migrating.set(Number(mig[1]), mig[2]!);
      else if (imp) topo.importing.set(Number(imp[1]), imp[2]!);
      else {
        const [a, b] = s.split("-").map(Number);
        const start = a!;
        const end = b ?? a!;
        if (!(start >= 0 && end < SLOT_COUNT && start <= end))
          throw new NodesFileError(`${where}: bad slot range '${s}'`);
        for (let slot = start; slot <= end; slot++) topo.owner[slot] = node;
      }
    }
  }
  topo.dirty = false;
  return topo;
}
