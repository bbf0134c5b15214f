/** The server's version, read from package.json at build time so there is one source. */
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
/**
 * What INFO's redis_version and HELLO's version report: the Redis release whose commands and
 * semantics we follow for everything we implement (field TTLs from 7.4, HGETEX / HSETEX /
 * HGETDEL from 8.0, BITOP DIFF / DIFF1 / ANDOR / ONE from 8.2). Raised only as far as parity
 * holds; the policy is in docs/compatibility.md. INFO shows blobasaur_version beside it.
 */
export const REDIS_COMPAT_VERSION = "8.2.0";
