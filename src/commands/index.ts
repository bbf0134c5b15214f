/** Every command row, gathered from the per-group files: the one command table's input. */

import { clusterCommands } from "./cluster/cluster.ts";
import { aclCommands } from "./connection/acl.ts";
import { connectionCommands } from "./connection/connection.ts";
import { pubsubCommandRows } from "./connection/pubsub.ts";
import { transactionCommands } from "./connection/transactions.ts";
import { hashCommands } from "./hashes/hash.ts";
import { hashIncrCommands } from "./hashes/hash-incr.ts";
import { hashScanCommands } from "./hashes/hash-scan.ts";
import { hashTtlCommands } from "./hashes/hash-ttl.ts";
import { genericCommands } from "./keys/generic.ts";
import { objectKeyCommands } from "./keys/object.ts";
import { renameCopyCommands } from "./keys/rename-copy.ts";
import { scriptingCommands } from "./scripting/scripting.ts";
import { observabilityCommands } from "./server/observability.ts";
import { serverCommands } from "./server/server.ts";
import { vacuumCommands } from "./server/vacuum.ts";
import type { CommandSpec } from "./spec.ts";
import { bitCommands } from "./strings/bitops.ts";
import { lcsCommands } from "./strings/lcs.ts";
import { modifyCommands } from "./strings/modify.ts";
import { setVariantCommands } from "./strings/set-variants.ts";
import { stringCommands } from "./strings/string.ts";

export const commandRows: readonly CommandSpec[] = [
  ...stringCommands,
  ...setVariantCommands,
  ...modifyCommands,
  ...lcsCommands,
  ...bitCommands,
  ...genericCommands,
  ...renameCopyCommands,
  ...objectKeyCommands,
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
