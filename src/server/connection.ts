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
import type { ClientState as AnyClient } from "../commands/client-state.ts";
import type { ClientState, CommandSpec, Ctx, ServerContext } from "../commands/spec.ts";
import { ProtocolError, RespError } from "../errors.ts";
import { limits } from "../limits.ts";
import { type Command, largeBody, RespParser } from "../protocol/parser.ts";
import { NO_REPLY, QUEUED, type Reply, type StreamReply } from "../protocol/reply.ts";
import { isStream, type OutChunk, ReplyWriter } from "../protocol/writer.ts";
import type { Dispatcher } from "./dispatch.ts";

/** A streamed reply that will not be sent releases its file at once. */
function closeIfStream(reply: Reply): void {
  if (reply !== null && typeof reply === "object" && (reply as StreamReply).kind === "stream")
    (reply as StreamReply).close();
}

interface Slot {
  ready: boolean;
  reply: Reply;
}

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
  private readonly slots: Slot[] = [];
  private unsettled = 0;
  private waitingForSettle = false;
  private outQueue: OutChunk[] = [];
  private outBytes = 0;
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
    const now = Date.now();
    this.client = {
      id,
      addr: `${socket.remoteAddress}:${(socket as unknown as { remotePort?: number }).remotePort ?? 0}`,
      laddr: `${socket.localAddress ?? "127.0.0.1"}:${host.server.port()}`,
      createdAt: now,
      name: null,
      libName: null,
      libVer: null,
      protocol: 2,
      db: 0,
      lastInteraction: now,
      lastCommand: "NULL",
      replyMode: "on",
      closeAfterReply: false,
      tx: null,
      watcher: { dirty: false, keys: new Set() },
      kill: () => this.close(),
      monitoring: false,
      deliver: (reply, now) => this.deliver(reply, now),
      outputBytes: () => this.outputBytes,
    };
    this.ctx = { server: host.server, client: this.client };
    const security = host.server.security;
    // Bulk strings above large_value_threshold_kb stream into a file (storage/large/).
    const large = host.server.store.large;
    this.parser = new RespParser({
      ...(security ? { bulkBytesMax: security.limits.protoMaxBulkLen } : {}),
      streamBulkBytesOver: large.thresholdBytes,
      openSink: (size) => {
        try {
          return large.upload(size);
        } catch (error) {
          // No file (disk full, descriptors exhausted): buffer this one in memory instead.
          large.report(`large value upload: ${(error as Error).message}`);
          return null;
        }
      },
    });
    security?.welcome(this.client);
  }

  get outputBytes(): number {
    return this.outBytes + this.writer.pendingBytes;
  }

  get idle(): boolean {
    return this.unsettled === 0 && this.nextRequest >= this.requests.length;
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
        const refused = this.refuseWhileBusy();
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
      const spec = this.refuseForSubscriber(
        this.refuseForMonitor(dispatcher.admit(this.ctx, dispatcher.resolve(found, args), args)),
      );
      const largeFailure = this.prepareLarge(args, spec);
      if (largeFailure !== null) {
        this.nextRequest++;
        this.push(largeFailure);
        continue;
      }
      if (this.client.tx && !found?.multi) {
        this.nextRequest++;
        this.push(this.queueInTransaction(found, spec, args));
        continue;
      }
      if (spec instanceof RespError) {
        if (this.unsettled > 0) {
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
      if (this.unsettled > 0 && (!spec.flags.includes("write") || this.largeWrites > 0)) {
        this.waitForSettle();
        return;
      }
      this.nextRequest++;
      const drop = this.dropsReply();
      this.executing = true;
      const result = dispatcher.execute(this.ctx, spec as CommandSpec, args);
      if (spec.largeArgs) this.releaseArgsAfter(args, result);
      // The +OK of CLIENT REPLY ON is sent even though replies were off when it arrived.
      const dropped = drop && !(spec.name === "client|reply" && this.client.replyMode === "on");
      this.push(dropped ? this.skipReply(result) : result);
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

  /**
   * Streamed arguments (protocol/parser.ts LargeArg): a command whose row says largeArgs keeps
   * them; any other command, and a command queued in MULTI, gets the bytes read into memory
   * (bounded by proto-max-bulk-len); a refused command drops them. Returns an error reply when
   * the upload itself failed (disk full).
   */
  private prepareLarge(args: Command, spec: CommandSpec | RespError): RespError | null {
    let failure: RespError | null = null;
    for (let i = 0; i < args.length; i++) {
      const body = largeBody(args[i]);
      if (body === null) continue;
      if (spec instanceof RespError) body.dispose();
      else if (this.client.tx || !spec.largeArgs) {
        try {
          args[i] = body.readAll();
        } catch (error) {
          this.host.server.store.large.report(
            `large value upload failed: ${(error as Error).message}`,
          );
          failure ??= new RespError("ERR", "the value could not be stored");
        } finally {
          body.dispose();
        }
      }
    }
    return failure;
  }

  /** Large-value writes in flight (they hold later writes of this client back). */
  private largeWrites = 0;

  /** Drops a command's streamed arguments once its reply is settled (persisted ones stay). */
  private releaseArgsAfter(args: Command, result: Reply | Promise<Reply>): void {
    const bodies = args.map(largeBody).filter((b) => b !== null);
    if (bodies.length === 0) return;
    const release = () => {
      for (const body of bodies) body.dispose();
    };
    if (!(result instanceof Promise)) {
      release();
      return;
    }
    this.largeWrites++;
    const done = () => {
      this.largeWrites--;
      release();
    };
    result.then(done, done);
  }

  /** The connection is gone: uploads in progress or never run are removed, streams closed. */
  private releaseLarge(): void {
    this.parser.abort();
    for (let i = this.nextRequest; i < this.requests.length; i++)
      for (const arg of this.requests[i]!) largeBody(arg)?.dispose();
    for (const chunk of this.outQueue) if (isStream(chunk)) chunk.close();
  }

  /**
   * While a script is busy: the next request's BUSY error (or its own lookup error), null for an
   * allow_busy command that may run now, "wait" when no script is busy (EXEC, or the script's
   * own client: they wait for the gate as usual).
   */
  private refuseWhileBusy(): Reply | "wait" | null {
    const busy = this.host.gate.busy;
    if (!busy || busy.client === this.client) return "wait";
    const dispatcher = this.host.dispatcher;
    const args = this.requests[this.nextRequest]!;
    const found = dispatcher.lookup(args[0]!);
    const spec = dispatcher.resolve(found, args);
    if (spec instanceof RespError) return dispatcher.rejected(found, spec);
    if (spec.flags.includes("allow_busy")) return null;
    return dispatcher.rejected(found, busy.error);
  }

  /**
   * A monitoring client may not touch the keyspace; Redis refuses it with this error because
   * it treats a monitor as a replica.
   */
  private refuseForMonitor(spec: CommandSpec | RespError): CommandSpec | RespError {
    if (!this.client.monitoring || spec instanceof RespError) return spec;
    if (!spec.flags.includes("write") && !spec.flags.includes("readonly")) return spec;
    return new RespError("ERR", "Replica can't interact with the keyspace");
  }

  /**
   * RESP2 subscriber mode: a client with subscriptions may only (un)subscribe, PING, QUIT and
   * RESET; Redis's error names the command (`client|id` for a subcommand).
   */
  private refuseForSubscriber(spec: CommandSpec | RespError): CommandSpec | RespError {
    if (!this.client.subscriptions || this.client.protocol !== 2) return spec;
    if (spec instanceof RespError || spec.whileSubscribed) return spec;
    return new RespError(
      "ERR",
      `Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
    );
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

  /** Keeps the reply's place in the order (a write still waits for its commit) but sends nothing. */
  private skipReply(result: Reply | Promise<Reply>): Reply | Promise<Reply> {
    if (result instanceof Promise)
      return result.then((r) => {
        closeIfStream(r);
        return NO_REPLY;
      });
    closeIfStream(result);
    return NO_REPLY;
  }

  /**
   * Inside MULTI a command is checked, not run: a bad one (unknown, wrong arity, not
   * allowed) is refused and dooms the transaction, as in Redis; a good one is queued.
   */
  private queueInTransaction(
    found: CommandSpec | undefined,
    spec: CommandSpec | RespError,
    args: Uint8Array[],
  ): Reply {
    const tx = this.client.tx!;
    if (spec instanceof RespError) {
      tx.failed = true;
      return this.host.dispatcher.rejected(found, spec);
    }
    if (spec.flags.includes("no_multi")) {
      tx.failed = true;
      return this.host.dispatcher.rejected(
        found,
        new RespError("ERR", "Command not allowed inside a transaction"),
      );
    }
    tx.queued.push({ spec, args });
    return QUEUED;
  }

  private push(result: Reply | Promise<Reply>): void {
    if (!(result instanceof Promise)) {
      // HELLO switches the protocol for its own reply and everything after it.
      this.writer.protocol = this.client.protocol;
      if (this.slots.length === 0) this.writer.write(result);
      else this.slots.push({ ready: true, reply: result });
      return;
    }
    const slot: Slot = { ready: false, reply: null };
    this.slots.push(slot);
    this.unsettled++;
    result.then((reply) => {
      slot.ready = true;
      slot.reply = reply;
      this.unsettled--;
      this.renderSettled();
      if (this.unsettled === 0 && this.waitingForSettle) {
        this.waitingForSettle = false;
        this.run();
      }
      this.scheduleFlush();
    });
  }

  private renderSettled(): void {
    this.writer.protocol = this.client.protocol;
    let i = 0;
    while (i < this.slots.length && this.slots[i]!.ready) {
      this.writer.write(this.slots[i]!.reply);
      i++;
    }
    if (i > 0) this.slots.splice(0, i);
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
      if (this.outQueue.length === 0) this.writeDirect(chunks);
      else for (const chunk of chunks) this.enqueue(this.keep(chunk));
      // Every chunk was either written or copied, so the writer may reuse its buffer.
      this.writer.reset();
    }
    this.checkPressure();
    if (this.closing && this.slots.length === 0 && this.outQueue.length === 0) this.close();
  };

  /** Writes chunks straight to the socket; copies whatever it does not take now. */
  private writeDirect(chunks: OutChunk[]): void {
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      if (isStream(chunk)) {
        // A streamed body: queue it and what follows, and start pulling it.
        for (let j = i; j < chunks.length; j++) this.enqueue(this.keep(chunks[j]!));
        this.writeOut();
        return;
      }
      const written = this.socket.write(chunk);
      if (written < 0) {
        this.close();
        return;
      }
      this.host.server.stats.netOutputBytes += written;
      if (written < chunk.length) {
        this.enqueue(this.keep(chunk.subarray(written)));
        for (let j = i + 1; j < chunks.length; j++) this.enqueue(this.keep(chunks[j]!));
        return;
      }
    }
  }

  /** Copies views of the writer's reusable buffer; large values are kept by reference. */
  private keep(chunk: OutChunk): OutChunk {
    return this.writer.owns(chunk) ? (chunk as Uint8Array).slice() : chunk;
  }

  /** A streamed body counts only the piece read from it, never its whole size. */
  private enqueue(chunk: OutChunk): void {
    this.outQueue.push(chunk);
    if (isStream(chunk)) this.streams++;
    else this.outBytes += chunk.length;
  }

  /** Streamed bodies queued (reading from this client pauses while any is). */
  private streams = 0;
  private resumeScheduled = false;

  /** Writes queued output (our own copies); what the socket does not take waits for drain. */
  private writeOut(): void {
    let budget = limits.largeStreamTurnBytes;
    while (this.outQueue.length > 0 && !this.isClosed) {
      const head = this.outQueue[0]!;
      if (isStream(head)) {
        // One piece at a time, and only after the previous one left: a slow reader costs one
        // chunk. A bounded share per event-loop turn keeps other clients served meanwhile.
        if (budget <= 0) {
          this.continueSoon();
          return;
        }
        let piece: Uint8Array | null;
        try {
          piece = head.next();
        } catch (error) {
          // Mid-reply there is no way to report an error: end the connection.
          this.host.server.store.large.report(
            `streaming a large value: ${(error as Error).message}`,
          );
          this.abort();
          return;
        }
        if (piece === null) {
          this.outQueue.shift();
          this.streams--;
        } else {
          budget -= piece.length;
          this.outQueue.unshift(piece);
          this.outBytes += piece.length;
        }
        continue;
      }
      const chunk = head;
      const written = this.socket.write(chunk);
      if (written < 0) {
        this.close();
        return;
      }
      this.host.server.stats.netOutputBytes += written;
      this.outBytes -= written;
      if (written === chunk.length) this.outQueue.shift();
      else {
        this.outQueue[0] = chunk.subarray(written);
        break;
      }
    }
  }

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

  /**
   * client-output-buffer-limit normal: past the hard limit, or past the soft limit for longer
   * than its seconds, the client is cut off and its queued replies dropped (Redis's rule).
   */
  private overOutputLimit(): boolean {
    const limit = this.host.server.security?.limits.output;
    if (limit === undefined || (limit.hardBytes === 0 && limit.softBytes === 0)) return false;
    const bytes = this.outputBytes;
    if (limit.hardBytes > 0 && bytes >= limit.hardBytes) return true;
    if (limit.softBytes === 0 || bytes < limit.softBytes) {
      this.softSince = 0;
      return false;
    }
    const now = Date.now();
    if (this.softSince === 0) this.softSince = now;
    return now - this.softSince > limit.softSeconds * 1000;
  }

  private softSince = 0;

  private continueSoon(): void {
    if (this.resumeScheduled) return;
    this.resumeScheduled = true;
    setImmediate(() => {
      this.resumeScheduled = false;
      if (!this.isClosed) this.onDrain();
    });
  }

  /** Closes at once, dropping whatever is queued: used when a limit is exceeded. */
  abort(): void {
    if (this.isClosed) return;
    this.releaseLarge();
    this.outQueue = [];
    this.outBytes = 0;
    this.slots.length = 0;
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
    if (this.overOutputLimit()) {
      this.abort();
      return;
    }
    if (!this.paused && (this.outBytes > limits.outputPauseBytes || this.streams > 0)) {
      this.paused = true;
      this.socket.pause();
    }
  }

  onDrain(): void {
    this.writeOut();
    this.checkPressure();
    if (this.paused && this.outBytes <= limits.outputResumeBytes && this.streams === 0) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.closing && this.slots.length === 0 && this.outQueue.length === 0) this.close();
  }

  /** Replies with the protocol error, sends what is pending, then closes this connection only. */
  private protocolError(message: string): void {
    this.host.server.stats.errorReplies++;
    this.host.server.metrics?.protocolError();
    this.closing = true;
    if (this.slots.length === 0)
      this.writer.write(new RespError("ERR", `Protocol error: ${message}`));
    else
      this.slots.push({ ready: true, reply: new RespError("ERR", `Protocol error: ${message}`) });
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
