/**
 * The database a command acts on: the client's selected one (SELECT). Handlers reach keys only
 * through this Keyspace, never through shards or statements.
 */

import type { Keyspace } from "../storage/api.ts";
import type { KeyCtx } from "./spec.ts";

export function ks(ctx: KeyCtx): Keyspace {
  return ctx.server.store.keyspace(ctx.client.db);
}
