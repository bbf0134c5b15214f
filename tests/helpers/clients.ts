/**
 * The client libraries integration tests run every command through: ioredis and node-redis,
 * each over RESP2 and RESP3, behind one small interface, plus a helper that returns the text
 * of an error reply.
 */
import Redis from "ioredis";
import { createClient, RESP_TYPES } from "redis";

export type Arg = string | Buffer;

export interface Client {
  /** Sends one command; bulk replies as strings. */
  call(...args: Arg[]): Promise<unknown>;
  /** Sends one command; bulk replies as Buffers. */
  callBuffer(...args: Arg[]): Promise<unknown>;
  close(): Promise<void>;
}

export interface Lib {
  name: string;
  connect(port: number): Promise<Client>;
}

/** Both libraries, each with RESP2 and RESP3 (RESP3 is the default of both installed versions). */
export const libs: Lib[] = ([2, 3] as const).flatMap((protocol): Lib[] => [
  {
    name: `ioredis RESP${protocol}`,
    async connect(port) {
      const r = new Redis({
        port,
        host: "127.0.0.1",
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        protocol,
      });
      await r.connect();
      return {
        call: (...a) => r.call(a[0] as string, a.slice(1)),
        callBuffer: (...a) => r.callBuffer(a[0] as string, a.slice(1)),
        close: async () => {
          r.disconnect();
        },
      };
    },
  },
  {
    name: `node-redis RESP${protocol}`,
    async connect(port) {
      const r = createClient({
        socket: { port, host: "127.0.0.1", reconnectStrategy: false },
        RESP: protocol,
      });
      r.on("error", () => {});
      await r.connect();
      const buffers = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as never;
      return {
        call: (...a) => r.sendCommand(a),
        callBuffer: (...a) => r.sendCommand(a, buffers),
        close: async () => {
          r.destroy();
        },
      };
    },
  },
]);

/** The error message a rejected command produced (e.g. "ERR syntax error"). */
export async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the command to fail");
}
