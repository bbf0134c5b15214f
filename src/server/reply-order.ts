/**
 * Replies in request order. A reply that is ready while nothing is owed before it is rendered
 * at once; otherwise it waits in a slot, and a write's promise fills its slot when its group
 * commit settles. Each settled run of slots at the head is rendered into the writer in the
 * client's protocol of that moment (HELLO switches it for its own reply and what follows).
 */
import { type MapReply, NO_REPLY, type Reply, type StreamReply } from "../protocol/reply.ts";
import type { ProtocolVersion, ReplyWriter } from "../protocol/writer.ts";

interface Slot {
  ready: boolean;
  reply: Reply;
}

export class ReplyOrder {
  private readonly slots: Slot[] = [];
  /** Replies still waiting for their promise. */
  unsettled = 0;

  constructor(
    private readonly writer: ReplyWriter,
    private readonly protocol: () => ProtocolVersion,
    /** Called after a promise settled and whatever it unblocked was rendered. */
    private readonly settled: () => void,
  ) {}

  /** Replies queued and not yet rendered. */
  get pending(): number {
    return this.slots.length;
  }

  push(result: Reply | Promise<Reply>, protocol: ProtocolVersion): void {
    if (!(result instanceof Promise)) {
      this.writer.protocol = protocol;
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
      this.render();
      this.settled();
    });
  }

  /** Forgets every reply still owed (the connection is cut off). */
  clear(): void {
    this.slots.length = 0;
  }

  private render(): void {
    this.writer.protocol = this.protocol();
    let i = 0;
    while (i < this.slots.length && this.slots[i]!.ready) {
      this.writer.write(this.slots[i]!.reply);
      i++;
    }
    if (i > 0) this.slots.splice(0, i);
  }
}

/**
 * A streamed reply that will not be sent releases its file at once, wherever it sits (HMGET,
 * HGETALL and HSCAN put them in arrays and maps).
 */
function closeIfStream(reply: Reply): void {
  if (reply === null || typeof reply !== "object" || reply instanceof Uint8Array) return;
  if (Array.isArray(reply)) for (const r of reply) closeIfStream(r);
  else if ((reply as StreamReply).kind === "stream") (reply as StreamReply).close();
  else if ((reply as MapReply).kind === "map")
    for (const [k, v] of (reply as MapReply).entries) {
      closeIfStream(k);
      closeIfStream(v);
    }
}

/**
 * CLIENT REPLY OFF|SKIP: keeps the reply's place in the order (a write still waits for its
 * commit) but sends nothing.
 */
export function skipped(result: Reply | Promise<Reply>): Reply | Promise<Reply> {
  if (result instanceof Promise)
    return result.then((r) => {
      closeIfStream(r);
      return NO_REPLY;
    });
  closeIfStream(result);
  return NO_REPLY;
}
