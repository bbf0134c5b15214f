/** What every CLI command receives: the config path (global --config) and where to put its exit code. */
export interface CliContext {
  /** --config/-c wherever it appeared, or config.toml. */
  readonly configPath: string;
  /** Whether --config was given explicitly (commands may fall back when it wasn't). */
  readonly configGiven: boolean;
  /** Set by the command that ran; main() exits with it. */
  exitCode: number;
}

/** The --config option as every command shows it in --help. */
export const configArg = {
  config: {
    type: "string",
    alias: "c",
    description: "Path to the TOML configuration file",
    default: "config.toml",
  },
} as const;
