/**
 * The public face of src/config: the Config type, its key table and the loaders. Other modules
 * import from here, never from schema.ts or load.ts directly. Re-exports only; no logic.
 */
export { ConfigError, defaultConfig, loadConfig, parseAddr, parseConfig } from "./load.ts";
export { configKeys } from "./schema.ts";
export type { Addr, CompressionAlgorithm, Config, DeepPartial } from "./types.ts";
