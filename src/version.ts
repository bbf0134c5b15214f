/** The server's version, read from package.json at build time so there is one source. */
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
/** What we report as redis_version: a numeric version that clients' feature checks accept. */
export const REDIS_COMPAT_VERSION = "7.2.0";
