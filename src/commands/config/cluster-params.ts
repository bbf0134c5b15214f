/**
 * The cluster's run-time CONFIG parameters, under Redis's names, as rows of the CONFIG
 * registry (config-params.ts): cluster-node-timeout (ms) and cluster-require-full-coverage
 * (yes/no). In cluster mode they read and change the running cluster; without it they are
 * kept like any other knob, as Redis accepts them on a standalone server.
 */

import type { ServerContext } from "../spec.ts";
import { type ConfigParam, ConfigReject, paramValues } from "./param.ts";

const LLONG_MAX = 9223372036854775807n;
/** The longest timeout a timer takes; larger values behave as this one. */
const TIMER_MS_MAX = 2_147_483_647;

function integer(v: string): bigint {
  if (!/^-?(0|[1-9][0-9]*)$/.test(v))
    throw new ConfigReject("argument couldn't be parsed into an integer");
  const n = BigInt(v);
  if (n < 0n || n > LLONG_MAX)
    throw new ConfigReject(`argument must be between 0 and ${LLONG_MAX} inclusive`);
  return n;
}

export const clusterConfigParams: ConfigParam[] = [
  {
    name: "cluster-require-full-coverage",
    tomlKey: "cluster.require_full_coverage",
    tomlType: "boolean",
    get: (s: ServerContext) => {
      const on = s.cluster?.requireFullCoverage ?? s.config.cluster.requireFullCoverage;
      return paramValues(s).get("cluster-require-full-coverage") ?? (on ? "yes" : "no");
    },
    prepare: (s: ServerContext, v: string) => {
      const x = v.toLowerCase();
      if (x !== "yes" && x !== "no") throw new ConfigReject("argument must be 'yes' or 'no'");
      return () => {
        paramValues(s).set("cluster-require-full-coverage", x);
        if (s.cluster) {
          s.cluster.requireFullCoverage = x === "yes";
          s.cluster.refresh();
        }
      };
    },
  },
  {
    name: "cluster-node-timeout",
    tomlKey: "cluster.node_timeout_ms",
    tomlType: "integer",
    get: (s: ServerContext) =>
      paramValues(s).get("cluster-node-timeout") ??
      String(s.cluster?.nodeTimeoutMs ?? s.config.cluster.nodeTimeoutMs),
    prepare: (s: ServerContext, v: string) => {
      const n = integer(v);
      return () => {
        paramValues(s).set("cluster-node-timeout", String(n));
        if (s.cluster)
          s.cluster.nodeTimeoutMs = Math.max(
            1,
            Number(n > BigInt(TIMER_MS_MAX) ? TIMER_MS_MAX : n),
          );
      };
    },
  },
];
