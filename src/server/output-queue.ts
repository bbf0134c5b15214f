/**
 * A connection's output that the socket has not taken yet, in order: copies of rendered
 * replies, and streamed bodies of large values (storage/large), which are read one piece at
 * a time and only after the previous piece left, so a slow reader costs one chunk of memory.
 * A bounded share is written per event-loop turn (limits.largeStreamTurnBytes), so one big
 * download never starves other clients. The connection decides backpressure from `bytes`
 * and `streams`.
 */
import { limits } from "../limits.ts";
import { isStream, type OutChunk } from "../protocol/writer.ts";
import type { OutputLimit } from "../security/settings.ts";

/** What the queue needs of its connection. */
export interface OutputSink {
  /** Hands bytes to the socket: how many it took, or < 0 when the socket failed. */
  write(chunk: Uint8Array): number;
  /** Counts bytes that left (INFO's total_net_output_bytes). */
  wrote(bytes: number): void;
  /** The socket failed: the connection closes. */
  failed(): void;
  /** Reading a streamed body failed mid-reply: the connection ends. */
  streamFailed(error: Error): void;
  /** Called on a later turn to write the next share of a streamed body. */
  onDrain(): void;
}

export class OutputQueue {
  private queue: OutChunk[] = [];
  /** Bytes queued (a streamed body counts only the piece read from it, never its size). */
  bytes = 0;
  /** Streamed bodies queued (the connection stops reading its client while any is). */
  streams = 0;
  private resumeScheduled = false;
  /** When the output first stayed above the soft limit (0 = it is below). */
  private softSince = 0;

  constructor(
    private readonly sink: OutputSink,
    /** Copies views of the reply writer's reusable buffer; large values pass by reference. */
    private readonly keep: (chunk: OutChunk) => OutChunk,
  ) {}

  get empty(): boolean {
    return this.queue.length === 0;
  }

  /** Sends rendered chunks: straight to the socket when nothing waits, else behind the queue. */
  write(chunks: OutChunk[]): void {
    if (this.queue.length === 0) this.writeDirect(chunks);
    else for (const chunk of chunks) this.enqueue(this.keep(chunk));
  }

  /**
   * client-output-buffer-limit normal for `bytes` of pending output: past the hard limit, or
   * past the soft limit for longer than its seconds, the client is to be cut off and its
   * queued replies dropped (Redis's rule).
   */
  overLimit(bytes: number, limit: OutputLimit | undefined): boolean {
    if (limit === undefined || (limit.hardBytes === 0 && limit.softBytes === 0)) return false;
    if (limit.hardBytes > 0 && bytes >= limit.hardBytes) return true;
    if (limit.softBytes === 0 || bytes < limit.softBytes) {
      this.softSince = 0;
      return false;
    }
    const now = Date.now();
    if (this.softSince === 0) this.softSince = now;
    return now - this.softSince > limit.softSeconds * 1000;
  }

  /** Drops everything queued (the connection is cut off). */
  clear(): void {
    this.queue = [];
    this.bytes = 0;
  }

  /** Releases the files of streamed bodies that will not be sent. */
  closeStreams(): void {
    for (const chunk of this.queue) if (isStream(chunk)) chunk.close();
  }

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
      const written = this.sink.write(chunk);
      if (written < 0) {
        this.sink.failed();
        return;
      }
      this.sink.wrote(written);
      if (written < chunk.length) {
        this.enqueue(this.keep(chunk.subarray(written)));
        for (let j = i + 1; j < chunks.length; j++) this.enqueue(this.keep(chunks[j]!));
        return;
      }
    }
  }

  private enqueue(chunk: OutChunk): void {
    this.queue.push(chunk);
    if (isStream(chunk)) this.streams++;
    else this.bytes += chunk.length;
  }

  /** Writes queued output (our own copies); what the socket does not take waits for drain. */
  writeOut(): void {
    let budget = limits.largeStreamTurnBytes;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
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
          this.sink.streamFailed(error as Error);
          return;
        }
        if (piece === null) {
          this.queue.shift();
          this.streams--;
        } else {
          budget -= piece.length;
          this.queue.unshift(piece);
          this.bytes += piece.length;
        }
        continue;
      }
      const written = this.sink.write(head);
      if (written < 0) {
        this.sink.failed();
        return;
      }
      this.sink.wrote(written);
      this.bytes -= written;
      if (written === head.length) this.queue.shift();
      else {
        this.queue[0] = head.subarray(written);
        break;
      }
    }
  }

  private continueSoon(): void {
    if (this.resumeScheduled) return;
    this.resumeScheduled = true;
    setImmediate(() => {
      this.resumeScheduled = false;
      this.sink.onDrain();
    });
  }
}
