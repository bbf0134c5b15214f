/**
 * Rules that involve more than one config key; load.ts runs them once every key is valid on
 * its own. A rule returns the issue it found (a warning for a harmless leftover) or null.
 */
import { compressionLevelRange } from "./schema.ts";
import type { Config } from "./types.ts";

/** A problem found after every key was valid on its own: which key, and what is wrong. */
export type CrossIssue = {
  key: string;
  value: unknown;
  problem: string;
  expected: string;
  /** A leftover that changes nothing: logged as a warning instead of refusing the file. */
  warn?: true;
};

const issue = (key: string, value: unknown, problem: string, expected: string): CrossIssue => ({
  key,
  value,
  problem,
  expected,
});
const whenEnabled = "when cluster.enabled = true";
const outputLimit = /^\s*\d+[kmg]?b?\s+\d+[kmg]?b?\s+\d+\s*$/i;

/** Redis's notify-keyspace-events characters (the pub/sub room parses them again). */
const notifyFlags = /^[KEg$lshzxetmdnA]*$/;

/** Rules that involve more than one key. They run only when every key is valid on its own. */
export const crossChecks: readonly ((c: Config) => CrossIssue | null)[] = Object.freeze([
  ({ notifyKeyspaceEvents: flags }) =>
    flags !== null && !notifyFlags.test(flags)
      ? issue(
          "notify_keyspace_events",
          flags,
          "is not allowed",
          "Redis's flag characters: K E g $ l s h z x e t m d n A",
        )
      : null,
  ({ storageCompression: { enabled, algorithm, level } }) => {
    const range = compressionLevelRange[algorithm];
    const at = "storage_compression.level";
    if (level === null) return null;
    // A level that cannot matter (compression off, or algorithm "none") is a leftover, not
    // a reason to refuse to start.
    if (range === null)
      return {
        ...issue(at, level, `is ignored with algorithm "${algorithm}"`, "no level"),
        warn: true,
      };
    if (!enabled && !(level >= range[0] && level <= range[1]))
      return {
        ...issue(
          at,
          level,
          "is ignored while storage_compression.enabled = false",
          `for ${algorithm} an integer from ${range[0]} to ${range[1]}`,
        ),
        warn: true,
      };
    if (!enabled) return null;
    if (level >= range[0] && level <= range[1]) return null;
    return issue(
      at,
      level,
      `is out of range for ${algorithm}`,
      `an integer from ${range[0]} to ${range[1]}`,
    );
  },
  ({ tls, metrics }) =>
    (tls.port !== null || metrics.tls) && (tls.certFile === null || tls.keyFile === null)
      ? issue(
          "tls.cert_file",
          undefined,
          "is missing",
          "cert_file and key_file when tls.port or metrics.tls is set",
        )
      : null,
  ({ tls }) =>
    tls.authClients !== "no" && tls.port !== null && tls.caCertFile === null
      ? issue(
          "tls.ca_cert_file",
          undefined,
          "is missing",
          'a CA file when auth_clients is not "no"',
        )
      : null,
  ({ clientOutputBufferLimitNormal: v }) =>
    outputLimit.test(v)
      ? null
      : issue(
          "client_output_buffer_limit_normal",
          v,
          "is not allowed",
          '"<hard> <soft> <seconds>", e.g. "0 0 0" or "256mb 64mb 60"',
        ),
  ({ cluster: c }) =>
    c.enabled && c.nodeId === null
      ? issue("cluster.node_id", undefined, "is missing", `a non-empty string ${whenEnabled}`)
      : null,
  ({ cluster: c }) =>
    c.enabled && c.port === null
      ? issue("cluster.port", undefined, "is missing", `an integer from 0 to 65535 ${whenEnabled}`)
      : null,
  ({ cluster: c }) =>
    c.enabled && c.secret === null
      ? issue("cluster.secret", undefined, "is missing", `a non-empty string ${whenEnabled}`)
      : null,
]);
