/**
 * The house's dependency rules (design.md §1), checked by `npm run lint` and CI:
 * imports flow cli → server → commands → storage → codecs; protocol, config, errors, limits,
 * log and version are leaves anyone may import; storage never reaches up.
 */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import circle ties modules that should stand alone; type-only imports count.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "storage-stays-below",
      severity: "error",
      comment: "Storage knows nothing of commands, the server, the protocol or the cluster.",
      from: { path: "^src/storage/" },
      to: { path: "^src/(commands|server|protocol|cluster|pubsub|scripting|security|metrics|cli)/" },
    },
    {
      name: "metrics-below-commands",
      severity: "error",
      comment: "Metrics are handed in; they read the store, never the command handlers.",
      from: { path: "^src/metrics/" },
      to: { path: "^src/commands/" },
    },
    {
      name: "storage-through-its-api",
      severity: "error",
      comment:
        "Code outside storage (commands, server, cluster, cli, ...) reaches it through src/storage/api.ts, never through statements, shards or the engine's internals.",
      from: { path: "^src/", pathNot: "^src/storage/" },
      to: { path: "^src/storage/", pathNot: "^src/storage/api\\.ts$" },
    },
    {
      name: "leaves-stay-leaves",
      severity: "error",
      comment: "protocol, config, errors, limits, log and version import no project module above them.",
      from: { path: "^src/(protocol/|config/|errors\\.ts|limits\\.ts|log\\.ts|version\\.ts)" },
      to: { path: "^src/(commands|server|storage|cluster|pubsub|scripting|security|metrics|cli)/" },
    },
    {
      name: "no-orphans",
      severity: "error",
      comment: "A source file nothing imports is dead code (entry points and workers excepted).",
      from: {
        orphan: true,
        path: "^src/",
        pathNot: ["^src/main\\.ts$", "-worker\\.ts$", "\\.d\\.ts$"],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
