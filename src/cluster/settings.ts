/**
 * ClusterSettings from the validated Config: which address to announce, where the bus listens,
 * which slots to claim on first start. The one place that reads `[cluster]` keys, so
 * server.ts only hands the Config over.
 */
import type { Config } from "../config/index.ts";
import type { ClusterSettings } from "./cluster.ts";

const WILDCARD = new Set(["0.0.0.0", "::", ""]);

export function clusterSettings(config: Config): ClusterSettings {
  const c = config.cluster as Config["cluster"] & {
    secret?: string | null;
    nodeTimeoutMs?: number;
    requireFullCoverage?: boolean;
  };
  const advertise = c.advertiseAddr ? /^\[?(.*?)\]?:(\d+)$/.exec(c.advertiseAddr) : null;
  const announceIp = advertise
    ? advertise[1]!
    : WILDCARD.has(config.addr.host)
      ? ""
      : config.addr.host;
  const slots = new Set<number>(c.slots);
  for (const { start, end } of c.slotRanges) for (let s = start; s <= end; s++) slots.add(s);
  return {
    nodeName: c.nodeId,
    announceIp,
    announcePort: advertise ? Number(advertise[2]) : null,
    busHost: config.addr.host,
    busPort: c.port ?? 0,
    seeds: c.seeds,
    initialSlots: [...slots].sort((a, b) => a - b),
    gossipIntervalMs: c.gossipIntervalMs,
    nodeTimeoutMs: c.nodeTimeoutMs ?? 15_000,
    requireFullCoverage: c.requireFullCoverage ?? true,
    secret: c.secret ?? "",
    dataDir: config.dataDir,
  };
}
