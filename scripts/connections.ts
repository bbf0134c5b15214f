/**
 * `npm run load:connections`: opens 10,000 concurrent client connections on loopback to a
 * live Blobasaur server (its own process), checks that every client gets a reply, and reports
 * the server's RSS per idle connection. It raises the open-file limit itself: this script
 * re-executes under `prlimit` when its own limit is too low, and starts the server under
 * `prlimit` too. Exit status 1 when a client got no reply.
 *
 *   bun scripts/connections.ts [--connections 10000] [--wave 500]
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import type { Socket } from "bun";
import { startLiveServer } from "./lib/live-server.ts";

const { values: flags } = parseArgs({
  options: {
    connections: { type: "string", default: "10000" },
    wave: { type: "string", default: "500" },
  },
});
const total = Number(flags.connections);
const wave = Number(flags.wave);
const fdsNeeded = total + 2048;

function fdLimits(): { soft: number; hard: number } {
  const out = execFileSync("prlimit", [
    "--pid",
    String(process.pid),
    "--nofile",
    "--noheadings",
    "--raw",
    "--output=SOFT,HARD",
  ]).toString();
  const [soft, hard] = out.trim().split(/\s+/);
  const num = (s: string | undefined) => (s === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(s));
  return { soft: num(soft), hard: num(hard) };
}

const limits = fdLimits();
if (limits.soft < fdsNeeded && process.env.BLOBASAUR_FDS_RAISED !== "1") {
  // Raise the soft limit (and the hard one when we may) by re-running under prlimit.
  const hard = Math.max(limits.hard, fdsNeeded);
  const run = (h: number) =>
    Bun.spawnSync(
      [
        "prlimit",
        `--nofile=${Math.min(fdsNeeded, h)}:${h}`,
        "--",
        process.execPath,
        ...process.argv.slice(1),
      ],
      {
        env: { ...process.env, BLOBASAUR_FDS_RAISED: "1" },
        stdout: "inherit",
        stderr: "inherit",
      },
    );
  let r = run(hard);
  if (r.exitCode !== 0 && hard > limits.hard) r = run(limits.hard);
  process.exit(r.exitCode ?? 1);
}
console.log(`connections: fd limit ${fdLimits().soft} (need ${fdsNeeded})`);

const server = await startLiveServer(`maxclients = ${total + 100}`, [
  "prlimit",
  `--nofile=${fdLimits().soft}:${fdLimits().hard}`,
  "--",
]);
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
await Bun.sleep(1000);
Bun.gc(true);
const rssIdle = server.rssBytes();
console.log(
  `connections: server pid ${server.pid} on port ${server.port}, RSS with no clients ${mib(rssIdle)}`,
);

interface Client {
  socket: Socket<undefined>;
  replies: number;
  waiter: (() => void) | null;
}
const clients: Client[] = [];
let failures = 0;

async function open(): Promise<Client | null> {
  const client: Client = { socket: null as unknown as Socket<undefined>, replies: 0, waiter: null };
  try {
    client.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data: (_s, d) => {
          if (d.toString().includes("+PONG")) {
            client.replies++;
            client.waiter?.();
          }
        },
        close: () => client.waiter?.(),
        error: () => client.waiter?.(),
      },
    });
    return client;
  } catch {
    return null;
  }
}

/** Sends PING and waits up to 10 s for PONG. */
function ping(client: Client): Promise<boolean> {
  const before = client.replies;
  return new Promise((resolvePing) => {
    const timer = setTimeout(() => {
      client.waiter = null;
      resolvePing(false);
    }, 10_000);
    client.waiter = () => {
      clearTimeout(timer);
      client.waiter = null;
      resolvePing(client.replies > before);
    };
    client.socket.write("*1\r\n$4\r\nPING\r\n");
  });
}

const started = performance.now();
for (let i = 0; i < total; i += wave) {
  const batch = await Promise.all(Array.from({ length: Math.min(wave, total - i) }, open));
  const answered = await Promise.all(
    batch.map(async (c) => {
      if (c === null) return false;
      clients.push(c);
      return await ping(c);
    }),
  );
  failures += answered.filter((ok) => !ok).length;
}
const openSeconds = (performance.now() - started) / 1000;
await Bun.sleep(2000);
const rssConnected = server.rssBytes();
// Every client, all connected at once, asks again: each must get its own reply.
const second = await Promise.all(clients.map(ping));
const secondFailures = second.filter((ok) => !ok).length;
const report = {
  connections: clients.length,
  openedAndAnsweredSeconds: Number(openSeconds.toFixed(1)),
  firstPingFailures: failures,
  secondPingFailures: secondFailures,
  serverAlive: server.alive(),
  rssNoClientsBytes: rssIdle,
  rssConnectedBytes: rssConnected,
  rssPerIdleConnectionBytes: Math.round((rssConnected - rssIdle) / Math.max(1, clients.length)),
};
console.log(JSON.stringify(report, null, 2));
console.log(
  `connections: ${clients.length} open at once, every one answered: ${failures === 0 && secondFailures === 0}; RSS ${mib(rssIdle)} -> ${mib(rssConnected)} = ${(report.rssPerIdleConnectionBytes / 1024).toFixed(1)} KiB per idle connection`,
);
for (const c of clients) c.socket.end();
await server.stop();
process.exit(failures === 0 && secondFailures === 0 && clients.length === total ? 0 : 1);
