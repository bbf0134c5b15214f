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
import type { ClientState, CommandSpec, Ctx, ServerContext } from "../commands/spec.ts";
import { TX_IMMEDIATE } from "../commands/transactions.ts";
import { ProtocolError, RespError } from "../errors.ts";
import { limits } from "../limits.ts";
import { type Command, RespParser } from "../protocol/parser.ts";
import { NO_REPLY, QUEUED, type Reply } from "../protocol/reply.ts";
import { ReplyWriter } from "../protocol/writer.ts";
import type { Dispatcher } from "./dispatch.ts";

interface Slot {
  ready: boolean;
  reply: Reply;
}

/** Held by the client whose EXEC is running; everyone else's requests wait for it. */
export interface ExecGate {
  owner: ClientState | null;
  readonly waiters: (() => void)[];
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
  private readonly parser = new RespParser();
  private readonly writer = new ReplyWriter(2);
  private readonly requests: Command[] = [];
  private nextRequest = 0;
  private readonly slots: Slot[] = [];
  private unsettled = 0;
  private waitingForSettle = false;
  private outQueue: Uint8Array[] = [];
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
      deliver: (reply) => this.deliver(reply),
      outputBytes: () => this.outputBytes,
    };
    this.ctx = { server: host.server, client: this.client };
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
    this.run();
  }

  /** Runs queued requests until one must wait for earlier replies to settle. */
  private run(): void {
    const dispatcher = this.host.dispatcher;
    const gate = this.host.gate;
    while (this.nextRequest < this.requests.length && !this.closing) {
      // Another client's EXEC is running: nothing of ours may interleave with it.
      if (gate.owner !== null && gate.owner !== this.client) {
        gate.waiters.push(() => this.run());
        return;
      }
      const args = this.requests[this.nextRequest]!;
      const found = dispatcher.lookup(args[0]!);
      const spec = this.refuseForMonitor(dispatcher.resolve(found, args));
      if (this.client.tx && !TX_IMMEDIATE.has(found?.name ?? "")) {
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
      if (this.unsettled > 0 && !spec.flags.includes("write")) {
        this.waitForSettle();
        return;
      }
      this.nextRequest++;
      const drop = this.dropsReply();
      this.executing = true;
      const result = dispatcher.execute(this.ctx, spec as CommandSpec, args);
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
   * A monitoring client may not touch the keyspace; Redis refuses it with this error because
   * it treats a monitor as a replica.
   */
  private refuseForMonitor(spec: CommandSpec | RespError): CommandSpec | RespError {
    if (!this.client.monitoring || spec instanceof RespError) return spec;
    if (!spec.flags.includes("write") && !spec.flags.includes("readonly")) return spec;
    return new RespError("ERR", "Replica can't interact with the keyspace");
  }

  /** A MONITOR line: after every reply already owed, and after the reply being produced now. */
  private deliver(reply: Reply): void {
    if (this.isClosed) return;
    if (this.executing) this.deferred.push(reply);
    else {
      this.push(reply);
      this.scheduleFlush();
    }
  }

  /** CLIENT REPLY OFF|SKIP (commands/connection.ts): true when this request's reply is dropped. */
  private dropsReply(): boolean {
    const mode = this.client.replyMode;
    if (mode === "skip") this.client.replyMode = "on";
    return mode !== "on";
  }

  /** Keeps the reply's place in the order (a write still waits for its commit) but sends nothing. */
  private skipReply(result: Reply | Promise<Reply>): Reply | Promise<Reply> {
    return result instanceof Promise ? result.then(() => NO_REPLY) : NO_REPLY;
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
      const chunks = this.writer.take();
      if (this.outQueue.length === 0) this.writeDirect(chunks);
      else for (const chunk of chunks) this.enqueue(this.keep(chunk));
      // Every chunk was either written or copied, so the writer may reuse its buffer.
      this.writer.reset();
    }
    this.checkPressure();
    if (this.closing && this.slots.length === 0 && this.outBytes === 0) this.close();
  };

  /** Writes chunks straight to the socket; copies whatever it does not take now. */
  private writeDirect(chunks: Uint8Array[]): void {
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
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
  private keep(chunk: Uint8Array): Uint8Array {
    return this.writer.owns(chunk) ? chunk.slice() : chunk;
  }

  private enqueue(chunk: Uint8Array): void {
    this.outQueue.push(chunk);
    this.outBytes += chunk.length;
  }

  /** Writes queued output (our own copies); what the socket does not take waits for drain. */
  private writeOut(): void {
    while (this.outQueue.length > 0) {
      const chunk = this.outQueue[0]!;
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

  private checkPressure(): void {
    if (!this.paused && this.outBytes > limits.outputPauseBytes) {
      this.paused = true;
      this.socket.pause();
    }
  }

  onDrain(): void {
    this.writeOut();
    this.checkPressure();
    if (this.paused && this.outBytes <= limits.outputResumeBytes) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.closing && this.slots.length === 0 && this.outBytes === 0) this.close();
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
    this.isClosed = true;
    this.closing = true;
    this.host.closed(this);
  }
}
