/**
 * One client connection: bytes in, parsed requests, replies out in request order.
 *
 * Ordering rule: requests run in arrival order. A write returns a promise (it is acknowledged
 * after its group commit), and further writes from the same burst are queued behind it without
 * waiting, so a pipeline of SETs shares one transaction. Any other command waits until every
 * earlier reply of this connection is settled, so it always sees this client's own writes.
 * Replies of one burst are rendered into one buffer and sent with one write. When the client
 * does not drain its replies, reading from it pauses (backpressure).
 */
import type { Socket } from "bun";
import { type ClientState as AnyClient, newClientState } from "../commands/client-state.ts";
import type { ClientState, CommandSpec, Ctx, ServerContext } from "../commands/spec.ts";
import { ProtocolError, RespError } from "../errors.ts";
import { limits } from "../limits.ts";
import { largeBody } from "../protocol/large-arg.ts";
import type { Command, RespParser } from "../protocol/parser.ts";
import { NO_REPLY, type Reply } from "../protocol/reply.ts";
import { ReplyWriter } from "../protocol/writer.ts";
import type { Dispatcher } from "./dispatch.ts";
import { readLargeArgs, releaseLargeArgsAfter, requestParser } from "./large-args.ts";
import { OutputQueue } from "./output-queue.ts";
import { ReplyOrder, skipped } from "./reply-order.ts";
import {
  busyRefusal,
  queueInMulti,
  refuseForMonitor,
  refuseForSubscriber,
} from "./request-guards.ts";

/** Held by the client whose EXEC is running; everyone else's requests wait for it. */
export interface ExecGate {
  owner: ClientState | null;
  readonly waiters: (() => void)[];
  /**
   * Set while a script runs past busy-reply-threshold (src/scripting): other clients get its
   * BUSY error, except for allow_busy commands (SCRIPT KILL, FUNCTION KILL|STATS), which run.
   */
  busy?: { readonly error: RespError; readonly client: AnyClient } | null;
}

export interface ConnectionHost {
  readonly server: ServerContext;
  readonly dispatcher: Dispatcher;
  readonly gate: ExecGate;
  /** Called once when the connection is gone. */
  closed(conn: Connection): void;
}

export class Connection {
  readonly client: ClientState;
  private readonly ctx: Ctx;
  private readonly parser: RespParser;
  private readonly writer = new ReplyWriter(2);
  private readonly requests: Command[] = [];
  private nextRequest = 0;
  /** Replies in request order, rendered into `writer` as they settle. */
  private readonly replies: ReplyOrder;
  private waitingForSettle = false;
  /** Output the socket has not taken yet (output-queue.ts). */
  private readonly out: OutputQueue;
  private paused = false;
  private flushScheduled = false;
  private closing = false;
  private isClosed = false;
  /** True while one of our own requests runs, so a MONITOR line about it follows its reply. */
  private executing = false;
  private readonly deferred: Reply[] = [];
  /** A framing error seen after the queued requests: replied once they have all run. */
  private pendingProtocolError: string | null = null;
  /** When the request now half-received began arriving (slowloris reaper); 0 at a boundary. */
  partialSince = 0;
  /** Bytes received since partialSince, so a slow but steady large upload is not a slowloris. */
  frameBytes = 0;

  constructor(
    readonly socket: Socket<Connection>,
    id: number,
    private readonly host: ConnectionHost,
  ) {
    this.client = newClientState(
      id,
      `${socket.remoteAddress}:${(socket as unknown as { remotePort?: number }).remotePort ?? 0}`,
      `${socket.localAddress ?? "127.0.0.1"}:${host.server.port()}`,
      {
        kill: () => this.close(),
        deliver: (reply, now) => this.deliver(reply, now),
        outputBytes: () => this.outputBytes,
      },
    );
    this.ctx = { server: host.server, client: this.client };
    this.replies = new ReplyOrder(
      this.writer,
      () => this.client.protocol,
      () => {
        if (this.replies.unsettled === 0 && this.waitingForSettle) {
          this.waitingForSettle = false;
          this.run();
        }
        this.scheduleFlush();
      },
    );
    this.out = new OutputQueue(
      {
        write: (chunk) => socket.write(chunk),
        wrote: (bytes) => {
          host.server.stats.netOutputBytes += bytes;
        },
        failed: () => this.close(),
        streamFailed: (error) => {
          // Mid-reply there is no way to report an error: end the connection.
          host.server.store.large.report(`streaming a large value: ${error.message}`);
          this.abort();
        },
        onDrain: () => {
          if (!this.isClosed) this.onDrain();
        },
      },
      (chunk) => (this.writer.owns(chunk) ? (chunk as Uint8Array).slice() : chunk),
    );
    this.parser = requestParser(host.server);
    const security = host.server.security;
    security?.welcome(this.client);
  }

  get outputBytes(): number {
    return this.out.bytes + this.writer.pendingBytes;
  }

  get idle(): boolean {
    return this.replies.unsettled === 0 && this.nextRequest >= this.requests.length;
  }

  onData(chunk: Uint8Array): void {
    if (this.closing || this.pendingProtocolError !== null) return;
    this.host.server.stats.netInputBytes += chunk.length;
    this.client.lastInteraction = Date.now();
    try {
      this.parser.feed(chunk, this.requests);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      // Requests parsed before the bad frame still run and get their replies first.
      this.pendingProtocolError = error.message;
    }
    if (this.parser.bufferedBytes === 0) this.partialSince = 0;
    else if (this.overQueryLimit(chunk.length)) return;
    this.run();
  }

  /** Runs queued requests until one must wait for earlier replies to settle. */
  private run(): void {
    const dispatcher = this.host.dispatcher;
    const gate = this.host.gate;
    while (this.nextRequest < this.requests.length && !this.closing) {
      // Another client's EXEC is running: nothing of ours may interleave with it.
      if (gate.owner !== null && gate.owner !== this.client) {
        const refused = busyRefusal(
          this.host.gate.busy,
          this.client,
          dispatcher,
          this.requests[this.nextRequest]!,
        );
        if (refused === "wait") {
          gate.waiters.push(() => this.run());
          return;
        }
        if (refused !== null) {
          this.nextRequest++;
          this.push(refused);
          continue;
        }
      }
      const args = this.requests[this.nextRequest]!;
      const found = dispatcher.lookup(args[0]!);
      const spec = refuseForSubscriber(
        this.client,
        refuseForMonitor(
          this.client,
          dispatcher.admit(this.ctx, dispatcher.resolve(found, args), args),
        ),
      );
      const largeFailure = readLargeArgs(args, spec, this.client.tx !== null, (message) =>
        this.host.server.store.large.report(message),
      );
      if (largeFailure !== null) {
        this.nextRequest++;
        this.push(largeFailure);
        continue;
      }
      if (this.client.tx && !found?.multi) {
        this.nextRequest++;
        this.push(queueInMulti(this.client, this.host.dispatcher, found, spec, args));
        continue;
      }
      if (spec instanceof RespError) {
        if (this.replies.unsettled > 0) {
          this.waitForSettle();
          return;
        }
        this.nextRequest++;
        const drop = this.dropsReply();
        const rejected = dispatcher.rejected(found, spec);
        this.push(drop ? NO_REPLY : rejected);
        continue;
      }
      // CLIENT PAUSE (src/pubsub/pause.ts): this request and those after it wait for the end.
      const pause = this.host.server.pubsub?.pause;
      if (pause && pause.mode !== null && pause.holds(spec, this.client)) {
        pause.wait(() => this.run());
        this.scheduleFlush();
        return;
      }
      // After a large-value write, even writes wait: it commits only after its file's fsync.
      if (this.replies.unsettled > 0 && (!spec.flags.includes("write") || this.largeWrites > 0)) {
        this.waitForSettle();
        return;
      }
      this.nextRequest++;
      const drop = this.dropsReply();
      this.executing = true;
      const result = dispatcher.execute(this.ctx, spec as CommandSpec, args);
      if (spec.largeArgs)
        releaseLargeArgsAfter(args, result, (delta) => {
          this.largeWrites += delta;
        });
      // The +OK of CLIENT REPLY ON is sent even though replies were off when it arrived.
      const dropped = drop && !(spec.name === "client|reply" && this.client.replyMode === "on");
      this.push(dropped ? skipped(result) : result);
      this.executing = false;
      if (this.deferred.length > 0) for (const line of this.deferred.splice(0)) this.push(line);
      if (this.client.closeAfterReply) this.closing = true;
    }
    if (this.nextRequest >= this.requests.length) {
      this.requests.length = 0;
      this.nextRequest = 0;
      if (this.pendingProtocolError !== null && !this.closing) {
        const message = this.pendingProtocolError;
        this.pendingProtocolError = null;
        this.protocolError(message);
      }
    }
    this.scheduleFlush();
  }

  /** Large-value writes in flight (they hold later writes of this client back). */
  private largeWrites = 0;

  /** The connection is gone: uploads in progress or never run are removed, streams closed. */
  private releaseLarge(): void {
    this.parser.abort();
    for (let i = this.nextRequest; i < this.requests.length; i++)
      for (const arg of this.requests[i]!) largeBody(arg)?.dispose();
    this.out.closeStreams();
  }

  /**
   * A MONITOR line: after every reply already owed, and after the reply being produced now;
   * with `now` (a pub/sub message to the publisher itself) before that reply, as in Redis.
   */
  private deliver(reply: Reply, now = false): void {
    if (this.isClosed) return;
    if (this.executing && !now) this.deferred.push(reply);
    else {
      this.push(reply);
      this.scheduleFlush();
    }
  }

  /** CLIENT REPLY OFF|SKIP (commands/connection/connection.ts): true when this request's reply is dropped. */
  private dropsReply(): boolean {
    const mode = this.client.replyMode;
    if (mode === "skip") this.client.replyMode = "on";
    return mode !== "on";
  }

  /** Queues a reply in request order (reply-order.ts), in the client's current protocol. */
  private push(result: Reply | Promise<Reply>): void {
    this.replies.push(result, this.client.protocol);
  }

  private waitForSettle(): void {
    this.waitingForSettle = true;
    this.scheduleFlush();
  }

  /** Coalesces every reply rendered in this turn into one socket write. */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.isClosed) return;
    this.flushScheduled = true;
    queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.isClosed) return;
    if (this.writer.pendingBytes > 0) {
      const chunks = this.writer.takeChunks();
      this.out.write(chunks);
      // Every chunk was either written or copied, so the writer may reuse its buffer.
      this.writer.reset();
    }
    this.checkPressure();
    if (this.closing && this.replies.pending === 0 && this.out.empty) this.close();
  };

  /**
   * client-query-buffer-limit: a request still arriving past the limit closes the client, as
   * in Redis; also starts the slowloris clock for a request left half-sent.
   */
  private overQueryLimit(received: number): boolean {
    if (this.partialSince === 0) {
      this.partialSince = this.client.lastInteraction;
      this.frameBytes = 0;
    }
    this.frameBytes += received;
    const limit = this.host.server.security?.limits.queryBufferBytes;
    if (limit === undefined || this.parser.bufferedBytes <= limit) return false;
    this.abort();
    return true;
  }

  /** Closes at once, dropping whatever is queued: used when a limit is exceeded. */
  abort(): void {
    if (this.isClosed) return;
    this.releaseLarge();
    this.out.clear();
    this.replies.clear();
    this.isClosed = true;
    this.closing = true;
    try {
      this.socket.terminate();
    } catch {
      // Already gone.
    }
    this.host.closed(this);
  }

  private checkPressure(): void {
    if (this.out.overLimit(this.outputBytes, this.host.server.security?.limits.output)) {
      this.abort();
      return;
    }
    if (!this.paused && (this.out.bytes > limits.outputPauseBytes || this.out.streams > 0)) {
      this.paused = true;
      this.socket.pause();
    }
  }

  onDrain(): void {
    if (!this.isClosed) this.out.writeOut();
    this.checkPressure();
    if (this.paused && this.out.bytes <= limits.outputResumeBytes && this.out.streams === 0) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.closing && this.replies.pending === 0 && this.out.empty) this.close();
  }

  /** Replies with the protocol error, sends what is pending, then closes this connection only. */
  private protocolError(message: string): void {
    this.host.server.stats.errorReplies++;
    this.host.server.metrics?.protocolError();
    this.closing = true;
    this.push(new RespError("ERR", `Protocol error: ${message}`));
    this.scheduleFlush();
  }

  /** Ends the connection after replies already rendered have been handed to the socket. */
  close(): void {
    if (this.isClosed) return;
    this.releaseLarge();
    this.isClosed = true;
    this.closing = true;
    try {
      this.socket.end();
    } catch {
      // The peer may already be gone.
    }
    this.host.closed(this);
  }

  /** Called by the socket layer when the peer went away. */
  onClose(): void {
    if (this.isClosed) return;
    this.releaseLarge();
    this.isClosed = true;
    this.closing = true;
    this.host.closed(this);
  }
}
