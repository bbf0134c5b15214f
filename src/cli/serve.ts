/**
 * `blobasaur serve`: load the config, start the server, log one startup line, and stop
 * gracefully on SIGINT/SIGTERM (stop accepting, finish in-flight commands, commit queued
 * writes, close the databases, exit 0). Exit codes: 0 clean stop, 1 runtime failure,
 * 2 bad configuration.
 */
import { ConfigError, loadConfig } from "../config/index.ts";
import { createLogger } from "../log.ts";
import { startServer } from "../server/server.ts";
import { StoreOpenError } from "../storage/api.ts";

export async function serve(configPath: string): Promise<number> {
  const log = createLogger();
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(configPath);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`blobasaur: invalid configuration: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  for (const warning of config.warnings ?? []) log.warn(warning);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, { log });
  } catch (error) {
    const message = error instanceof StoreOpenError ? error.message : (error as Error).message;
    process.stderr.write(`blobasaur: cannot start: ${message}\n`);
    return 1;
  }
  const mode = config.asyncWrite
    ? "async writes (acknowledged before commit)"
    : "durable writes (acknowledged after commit)";
  // Handlers first: whoever reads the line below may signal at once (a test did, and won the race).
  const stop = (signal: string) => {
    log.info(`${signal} received: finishing in-flight commands and committing queued writes`);
    void server.close();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  log.info(
    `blobasaur ${server.context.version} listening on ${server.hostname}:${server.port}, ${config.numShards} shard(s) in ${config.dataDir}, ${mode}, sqlite synchronous=${config.sqlite.synchronous}`,
  );
  await server.closed;
  log.info("stopped cleanly");
  return 0;
}
