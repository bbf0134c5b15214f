/**
 * TLS settings for Bun.listen / Bun.serve from the `[tls]` config section, under Redis's
 * meanings: tls-cert-file, tls-key-file, tls-ca-cert-file, tls-auth-clients (yes = a client
 * certificate signed by the CA is required, optional = asked for, not required, no = not
 * asked) and tls-protocols (the versions accepted; older ones are switched off).
 */
import { constants } from "node:crypto";
import { readFileSync } from "node:fs";
import type { TLSOptions } from "bun";
import type { Config } from "../config/index.ts";

const versionBits: Readonly<Record<string, number>> = {
  TLSV1: constants.SSL_OP_NO_TLSv1,
  "TLSV1.1": constants.SSL_OP_NO_TLSv1_1,
  "TLSV1.2": constants.SSL_OP_NO_TLSv1_2,
  "TLSV1.3": constants.SSL_OP_NO_TLSv1_3,
};

/** The SSL_OP_NO_* mask that leaves only the listed versions (e.g. "TLSv1.2 TLSv1.3"). */
export function protocolMask(protocols: string): number {
  const wanted = new Set(protocols.toUpperCase().split(/\s+/).filter(Boolean));
  for (const w of wanted)
    if (!(w in versionBits)) throw new Error(`tls.protocols: unknown TLS version '${w}'`);
  let mask = 0;
  for (const [name, bit] of Object.entries(versionBits)) if (!wanted.has(name)) mask |= bit;
  return mask;
}

/** Options for the TLS listener; `server` = false omits client-certificate checks (metrics). */
export function tlsOptions(config: Config, clientAuth = true): TLSOptions {
  const t = config.tls;
  if (t.certFile === null || t.keyFile === null)
    throw new Error("tls: cert_file and key_file are required");
  const options: TLSOptions = {
    cert: readFileSync(t.certFile, "utf8"),
    key: readFileSync(t.keyFile, "utf8"),
    secureOptions: protocolMask(t.protocols),
  };
  if (t.caCertFile !== null) options.ca = readFileSync(t.caCertFile, "utf8");
  if (clientAuth && t.authClients !== "no") {
    options.requestCert = true;
    options.rejectUnauthorized = t.authClients === "yes";
  } else {
    options.requestCert = false;
    options.rejectUnauthorized = false;
  }
  return options;
}
