/**
 * Logger construction. Each server gets its own consola instance (no global logger), so
 * tests can silence one node without affecting another.
 */
import { type ConsolaInstance, createConsola, LogLevels } from "consola";

export type Logger = ConsolaInstance;

export function createLogger(
  options: { level?: keyof typeof LogLevels; tag?: string } = {},
): Logger {
  const envLevel = process.env.BLOBASAUR_LOG as keyof typeof LogLevels | undefined;
  const level = LogLevels[options.level ?? envLevel ?? "info"] ?? LogLevels.info;
  const log = createConsola({ level, formatOptions: { date: true, colors: false } });
  return options.tag ? log.withTag(options.tag) : log;
}

export function silentLogger(): Logger {
  return createConsola({ level: LogLevels.silent });
}
