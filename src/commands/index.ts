/** Every command row, gathered from the per-group files: the one command table's input. */
import { aclCommands } from "./acl.ts";
import { bitCommands } from "./bitops.ts";
import { clusterCommands } from "./cluster.ts";
import { connectionCommands } from "./connection.ts";
import { genericCommands } from "./generic.ts";
import { hashCommands } from "./hash.ts";
import { hashIncrCommands } from "./hash-incr.ts";
import { hashScanCommands } from "./hash-scan.ts";
import { hashTtlCommands } from "./hash-ttl.ts";
import { keyspaceExtCommands } from "./keyspace-ext.ts";
import { lcsCommands } from "./lcs.ts";
import { observabilityCommands } from "./observability.ts";
import { pubsubCommandRows } from "./pubsub.ts";
import { scriptingCommands } from "./scripting.ts";
import { serverCommands } from "./server.ts";
import type { CommandSpec } from "./spec.ts";
import { stringCommands } from "./string.ts";
import { stringExtCommands } from "./string-ext.ts";
import { transactionCommands } from "./transactions.ts";
import { vacuumCommands } from "./vacuum.ts";

export const commandRows: readonly CommandSpec[] = [
  ...stringCommands,
  ...stringExtCommands,
  ...lcsCommands,
  ...bitCommands,
  ...genericCommands,
  ...keyspaceExtCommands,
  ...hashCommands,
  ...hashIncrCommands,
  ...hashScanCommands,
  ...hashTtlCommands,
  ...clusterCommands,
  ...connectionCommands,
  ...serverCommands,
  ...transactionCommands,
  ...scriptingCommands,
  ...observabilityCommands,
  ...pubsubCommandRows,
  ...vacuumCommands,
  ...aclCommands,
];
