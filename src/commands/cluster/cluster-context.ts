/**
 * How cluster command handlers reach the node's cluster handle (ServerContext.cluster), and
 * the shared "unknown node" lookup. Kept apart so cluster.ts and cluster-admin.ts import it
 * without importing each other.
 */
import type { Cluster } from "../../cluster/cluster.ts";
import { clusterErrors } from "../../cluster/route.ts";
import { RespError, sanitizeLine } from "../../errors.ts";
import { text } from "../args.ts";
import type { ClusterCtx } from "../spec.ts";

/** The node's cluster handle, or Redis's error when cluster mode is off. */
export function clusterOf(ctx: ClusterCtx): Cluster {
  const cluster = ctx.server.cluster;
  if (!cluster) throw clusterErrors.disabled();
  return cluster;
}

/** A node named by the client, or `ERR Unknown node <id>`. */
export function namedNode(cluster: Cluster, arg: Uint8Array, message = "Unknown node") {
  const id = text(arg);
  const node = cluster.topology.nodes.get(id);
  if (!node) throw new RespError("ERR", `${message} ${sanitizeLine(id)}`);
  return node;
}
