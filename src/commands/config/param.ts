/**
 * The shape of one CONFIG parameter row and the refusal it throws. The parameter lists
 * (registry.ts and the *-params.ts files of each room's settings) import this file, and the
 * registry imports them: none imports the registry back.
 */
import type { ServerContext } from "../spec.ts";

/** A refused value; the message is Redis's reason, after "CONFIG SET failed (...) - ". */
export class ConfigReject extends Error {}

export interface ConfigParam {
  /** Redis's name, lower case. */
  readonly name: string;
  /** Other names for the same setting (Redis's old ziplist names); a duplicate if both are set. */
  readonly aliases?: readonly string[];
  /** The value as CONFIG GET shows it. */
  get(s: ServerContext): string;
  /** Checks a value and returns what applies it; absent = fixed at startup. */
  prepare?(s: ServerContext, value: string): () => void;
  /** Dotted config-file key CONFIG REWRITE writes this parameter to, when it has one. */
  readonly tomlKey?: string;
  /** How the TOML value is written: a number, a boolean from yes/no, or a quoted string. */
  readonly tomlType?: "integer" | "boolean" | "string";
  /** Accepted and reported, with no effect here (an encoding or tuning knob). */
  readonly noEffect?: boolean;
}

/** The run-time value store of `s` for parameters that keep their value there (knobs). */
export function paramValues(s: ServerContext): Map<string, string> {
  return s.configValues;
}
