/**
 * The metrics HTTP server (Bun.serve), started by startServer() only when
 * `[metrics] enabled = true`, on `[metrics] addr` (loopback by default; optional bearer token
 * or basic auth and HTTPS, see security/http-auth.ts and security/tls.ts):
 *   GET /metrics  Prometheus text format 0.0.4, rendered by the registry at scrape time
 *   GET /health   JSON: status, uptime, and per shard its writer queue depth and last commit
 *                 error; 503 when any shard's last transaction failed to commit
 *   GET /         a small HTML index
 * Other paths give 404, other methods 405 (HEAD is answered like GET, without a body).
 * Owns the HTTP surface only; what is measured lives in registry.ts.
 */
import type { Addr } from "../config/index.ts";
import { checkHttpAuth } from "../security/http-auth.ts";
import { tlsOptions } from "../security/tls.ts";
import type { MetricsRegistry, MetricsSource } from "./registry.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface MetricsServer {
  /** `http://host:port` actually bound (the port differs from the config when it asked for 0). */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface HealthReport {
  status: "ok" | "failing";
  service: "blobasaur";
  version: string;
  uptime_seconds: number;
  shards: { shard: number; queue_depth: number; last_commit_error: string | null }[];
}

export function healthReport(ctx: MetricsSource): HealthReport {
  const shards = ctx.store.writers.map((w) => ({
    shard: w.shard.index,
    queue_depth: w.depth,
    last_commit_error: w.lastCommitError,
  }));
  return {
    status: shards.some((s) => s.last_commit_error !== null) ? "failing" : "ok",
    service: "blobasaur",
    version: ctx.version,
    uptime_seconds: Math.floor((Date.now() - ctx.startedAt) / 1000),
    shards,
  };
}

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>Blobasaur</title></head>
<body><h1>Blobasaur</h1><ul>
<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="/health">/health</a>: health (JSON)</li>
</ul></body></html>
`;

/** Answers one request; exported so tests can call it without a socket. */
export function handleMetricsRequest(
  ctx: MetricsSource,
  registry: MetricsRegistry,
  request: Request,
): Response {
  const { pathname } = new URL(request.url);
  if (pathname !== "/" && pathname !== "/metrics" && pathname !== "/health") {
    return new Response("not found\n", { status: 404, headers: { "content-type": "text/plain" } });
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed\n", {
      status: 405,
      headers: { allow: "GET, HEAD", "content-type": "text/plain" },
    });
  }
  if (pathname === "/metrics") {
    return new Response(registry.render(ctx), {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
    });
  }
  if (pathname === "/health") {
    const report = healthReport(ctx);
    return Response.json(report, { status: report.status === "ok" ? 200 : 503 });
  }
  return new Response(INDEX_HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
}

/** Binds the HTTP server; throws when the address cannot be bound (the caller logs it). */
export function startMetricsServer(
  ctx: MetricsSource,
  registry: MetricsRegistry,
  addr: Addr,
): MetricsServer {
  const m = ctx.config.metrics;
  const server = Bun.serve({
    hostname: addr.host,
    port: addr.port,
    ...(m.tls ? { tls: tlsOptions(ctx.config, false) } : {}),
    fetch: (request) => checkHttpAuth(m, request) ?? handleMetricsRequest(ctx, registry, request),
    error: () => new Response("internal error\n", { status: 500 }),
  });
  const host = addr.host.includes(":") ? `[${addr.host}]` : addr.host;
  const url = `${m.tls ? "https" : "http"}://${host}:${server.port}`;
  registry.endpoint = url;
  return {
    url,
    port: server.port ?? addr.port,
    stop: async () => {
      await server.stop(true);
    },
  };
}
