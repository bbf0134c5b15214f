/**
 * The security and client-limit parameters under Redis's CONFIG GET / CONFIG SET names:
 * requirepass, protected-mode, maxclients, timeout, client-query-buffer-limit,
 * client-output-buffer-limit, proto-max-bulk-len, aclfile and the tls-* settings (read-only
 * at run time). Spread into the CONFIG registry (commands/config-params.ts), which checks
 * every value before applying any.
 */

import {
  ClientLimits,
  parseMemory,
  parseOutputLimit,
  renderOutputLimits,
} from "../../security/settings.ts";
import type { ServerContext } from "../spec.ts";
import { type ConfigParam, ConfigReject } from "./param.ts";

function yesNo(value: string): boolean {
  const v = value.toLowerCase();
  if (v !== "yes" && v !== "no") throw new ConfigReject("argument must be 'yes' or 'no'");
  return v === "yes";
}

function bounded(value: string, min: number, max: number, memory = false): number {
  const n = memory ? parseMemory(value) : /^-?\d+$/.test(value) ? Number(value) : null;
  if (n === null)
    throw new ConfigReject(
      memory ? "argument must be a memory value" : "argument couldn't be parsed into an integer",
    );
  if (n < min || n > max)
    throw new ConfigReject(`argument must be between ${min} and ${max} inclusive`);
  return n;
}

/** The live limits; a unit-test context without security state reads the config's values. */
const lim = (s: ServerContext): ClientLimits => s.security?.limits ?? new ClientLimits(s.config);

/** Spread into commands/config-params.ts's registry. */
export const securityConfigParams: readonly ConfigParam[] = [
  {
    name: "requirepass",
    get: (s) => (s.security ? s.security.acl.requirepass : s.config.requirepass) ?? "",
    prepare: (s, v) => () => s.security?.acl.setRequirepass(v),
    tomlKey: "requirepass",
    tomlType: "string",
  },
  {
    name: "protected-mode",
    tomlKey: "protected_mode",
    tomlType: "boolean",
    get: (s) => (lim(s).protectedMode ? "yes" : "no"),
    prepare: (s, v) => {
      const on = yesNo(v);
      return () => {
        lim(s).protectedMode = on;
      };
    },
  },
  {
    name: "maxclients",
    tomlKey: "maxclients",
    tomlType: "integer",
    get: (s) => String(lim(s).maxclients),
    prepare: (s, v) => {
      const n = bounded(v, 1, 2 ** 31 - 1);
      return () => {
        lim(s).maxclients = n;
      };
    },
  },
  {
    name: "timeout",
    tomlKey: "timeout",
    tomlType: "integer",
    get: (s) => String(lim(s).timeoutSec),
    prepare: (s, v) => {
      const n = bounded(v, 0, 2 ** 31 - 1);
      return () => {
        lim(s).timeoutSec = n;
      };
    },
  },
  {
    name: "client-query-buffer-limit",
    tomlKey: "client_query_buffer_limit",
    tomlType: "integer",
    get: (s) => String(lim(s).queryBufferBytes),
    prepare: (s, v) => {
      const n = bounded(v, 1024 * 1024, Number.MAX_SAFE_INTEGER, true);
      return () => {
        lim(s).queryBufferBytes = n;
      };
    },
  },
  {
    name: "client-output-buffer-limit",
    get: (s) => renderOutputLimits(lim(s).output),
    prepare: (s, v) => {
      // Redis takes "<class> <hard> <soft> <seconds>" groups; only the normal class applies here.
      const words = v.trim().split(/\s+/);
      if (words.length % 4 !== 0 || words.length === 0)
        throw new ConfigReject("Wrong number of arguments in buffer limit configuration.");
      let normal = null;
      for (let i = 0; i < words.length; i += 4) {
        const cls = words[i]!.toLowerCase();
        const limit = parseOutputLimit(words.slice(i + 1, i + 4).join(" "));
        if (!["normal", "slave", "replica", "pubsub"].includes(cls))
          throw new ConfigReject("Invalid client class specified in buffer limit configuration.");
        if (limit === null)
          throw new ConfigReject(
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
          );
        if (cls === "normal") normal = limit;
      }
      return () => {
        if (normal) lim(s).output = normal;
      };
    },
  },
  {
    name: "proto-max-bulk-len",
    tomlKey: "proto_max_bulk_len",
    tomlType: "integer",
    get: (s) => String(lim(s).protoMaxBulkLen),
    prepare: (s, v) => {
      const n = bounded(v, 1024 * 1024, Number.MAX_SAFE_INTEGER, true);
      return () => {
        lim(s).protoMaxBulkLen = n;
      };
    },
  },
  { name: "aclfile", get: (s) => s.config.aclfile ?? "" },
  { name: "tls-port", get: (s) => String(s.config.tls.port ?? 0) },
  { name: "tls-cert-file", get: (s) => s.config.tls.certFile ?? "" },
  { name: "tls-key-file", get: (s) => s.config.tls.keyFile ?? "" },
  { name: "tls-ca-cert-file", get: (s) => s.config.tls.caCertFile ?? "" },
  { name: "tls-auth-clients", get: (s) => s.config.tls.authClients },
  { name: "tls-protocols", get: (s) => s.config.tls.protocols },
];
