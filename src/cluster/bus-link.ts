/**
 * One cluster-bus TCP connection: framing, the shared-secret handshake and per-frame MACs.
 * It knows nothing of gossip (bus.ts gives meaning to the messages).
 *
 * Handshake (both sides prove they hold the secret; the secret never crosses the wire):
 *   acceptor  → {t:"challenge", v:1, nonce:A}
 *   connector → {t:"auth", nonce:B, mac:HMAC(secret, "client|A|B")}
 *   acceptor  → {t:"welcome", mac:HMAC(secret, "server|A|B")}   or "denied" and close
 * Then every frame carries HMAC(sessionKey, direction|seq|body) truncated to 16 bytes, with
 * sessionKey = HMAC(secret, "session|A|B"): a frame cannot be forged, replayed or reordered
 * by anyone without the secret. Frames: u32 big-endian length, then (after the handshake) the
 * 16-byte MAC, then UTF-8 JSON. Traffic is authenticated, not encrypted.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Socket } from "bun";

export const BUS_VERSION = 1;
/** Largest frame accepted; gossip about a few hundred nodes is far below it. */
export const BUS_FRAME_BYTES_MAX = 4 * 1024 * 1024;
const MAC_BYTES = 16;

export type BusMessage = Record<string, unknown> & { t: string };

export interface LinkEvents {
  /** The handshake succeeded; messages may flow. */
  ready(link: BusLink): void;
  message(link: BusLink, msg: BusMessage): void;
  /** The link is gone (closed by either side, handshake failure included). */
  closed(link: BusLink, reason: string): void;
}

function hmac(key: string | Buffer, text: string): Buffer {
  return createHmac("sha256", key).update(text).digest();
}

function macEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export class BusLink {
  /** The peer's node id once known (always for outbound links to a known node). */
  nodeId: string | null;
  readonly createdAt = Date.now();
  private state: "handshake" | "ready" | "closed" = "handshake";
  private socket: Socket<BusLink> | null = null;
  private inbox = Buffer.alloc(0);
  private outbox: Buffer[] = [];
  private outBytes = 0;
  private myNonce = randomBytes(16).toString("hex");
  private challenge = "";
  private sessionKey: Buffer | null = null;
  private sendSeq = 0;
  private recvSeq = 0;
  /** Set when the peer was refused (or refused us) because of the secret. */
  refusedSecret = false;

  constructor(
    readonly direction: "to" | "from",
    private readonly secret: string,
    private readonly events: LinkEvents,
    nodeId: string | null = null,
  ) {
    this.nodeId = nodeId;
  }

  get ready(): boolean {
    return this.state === "ready";
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  get pendingBytes(): number {
    return this.outBytes;
  }

  get localAddress(): string {
    return this.socket?.localAddress ?? "";
  }

  get remoteAddress(): string {
    return this.socket?.remoteAddress ?? "";
  }

  /** Attaches the socket; an acceptor opens with its challenge. */
  attach(socket: Socket<BusLink>): void {
    this.socket = socket;
    if (this.direction === "from") {
      this.writeFrame(
        Buffer.from(JSON.stringify({ t: "challenge", v: BUS_VERSION, nonce: this.myNonce })),
      );
    }
  }

  send(msg: BusMessage): void {
    if (this.state !== "ready") return;
    const body = Buffer.from(JSON.stringify(msg));
    const mac = this.frameMac(this.direction, this.sendSeq++, body);
    this.writeFrame(Buffer.concat([mac, body]));
  }

  close(reason = "closed"): void {
    if (this.state === "closed") return;
    this.state = "closed";
    try {
      this.socket?.end();
    } catch {
      // already gone
    }
    this.events.closed(this, reason);
  }

  onData(chunk: Uint8Array): void {
    this.inbox = this.inbox.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.inbox, chunk]);
    while (this.inbox.length >= 4 && this.state !== "closed") {
      const len = this.inbox.readUInt32BE(0);
      if (len > BUS_FRAME_BYTES_MAX) {
        this.close("frame too large");
        return;
      }
      if (this.inbox.length < 4 + len) return;
      const frame = this.inbox.subarray(4, 4 + len);
      this.inbox = this.inbox.subarray(4 + len);
      this.onFrame(frame);
    }
  }

  onDrain(): void {
    this.flush();
  }

  private onFrame(frame: Buffer): void {
    if (this.state === "ready") {
      if (frame.length < MAC_BYTES) {
        this.close("short frame");
        return;
      }
      const mac = frame.subarray(0, MAC_BYTES);
      const body = frame.subarray(MAC_BYTES);
      const peer = this.direction === "to" ? "from" : "to";
      if (!macEqual(mac, this.frameMac(peer, this.recvSeq++, body))) {
        this.close("bad frame MAC");
        return;
      }
      let msg: BusMessage;
      try {
        msg = JSON.parse(body.toString("utf8")) as BusMessage;
      } catch {
        this.close("malformed message");
        return;
      }
      if (typeof msg?.t !== "string") {
        this.close("malformed message");
        return;
      }
      this.events.message(this, msg);
      return;
    }
    let msg: { t?: string; nonce?: string; mac?: string; v?: number };
    try {
      msg = JSON.parse(frame.toString("utf8"));
    } catch {
      this.close("malformed handshake");
      return;
    }
    this.handshake(msg);
  }

  private handshake(msg: { t?: string; nonce?: string; mac?: string; v?: number }): void {
    const hex = (s: unknown) => (typeof s === "string" && /^[0-9a-f]{1,128}$/.test(s) ? s : null);
    if (this.direction === "to") {
      if (msg.t === "challenge" && this.challenge === "") {
        const nonce = hex(msg.nonce);
        if (nonce === null || msg.v !== BUS_VERSION) {
          this.close("unsupported bus version");
          return;
        }
        this.challenge = nonce;
        const mac = hmac(this.secret, `client|${nonce}|${this.myNonce}`).toString("hex");
        this.writeFrame(Buffer.from(JSON.stringify({ t: "auth", nonce: this.myNonce, mac })));
        return;
      }
      if (msg.t === "welcome" && this.challenge !== "") {
        const expected = hmac(this.secret, `server|${this.challenge}|${this.myNonce}`);
        const got = Buffer.from(hex(msg.mac) ?? "", "hex");
        if (!macEqual(got, expected)) {
          this.refusedSecret = true;
          this.close("peer does not hold the cluster secret");
          return;
        }
        this.sessionKey = hmac(this.secret, `session|${this.challenge}|${this.myNonce}`);
        this.state = "ready";
        this.events.ready(this);
        return;
      }
      if (msg.t === "denied") {
        this.refusedSecret = true;
        this.close("refused by peer: wrong cluster secret");
        return;
      }
      this.close("unexpected handshake message");
      return;
    }
    // Acceptor: the only thing expected is the connector's proof.
    const nonce = hex(msg.nonce);
    const got = Buffer.from(hex(msg.mac) ?? "", "hex");
    if (msg.t !== "auth" || nonce === null) {
      this.close("unexpected handshake message");
      return;
    }
    const expected = hmac(this.secret, `client|${this.myNonce}|${nonce}`);
    if (!macEqual(got, expected)) {
      this.refusedSecret = true;
      this.writeFrame(Buffer.from(JSON.stringify({ t: "denied" })));
      this.close("wrong cluster secret");
      return;
    }
    const mac = hmac(this.secret, `server|${this.myNonce}|${nonce}`).toString("hex");
    this.writeFrame(Buffer.from(JSON.stringify({ t: "welcome", mac })));
    this.sessionKey = hmac(this.secret, `session|${this.myNonce}|${nonce}`);
    this.state = "ready";
    this.events.ready(this);
  }

  private frameMac(direction: string, seq: number, body: Buffer): Buffer {
    return createHmac("sha256", this.sessionKey!)
      .update(`${direction}|${seq}|`)
      .update(body)
      .digest()
      .subarray(0, MAC_BYTES);
  }

  private writeFrame(payload: Buffer): void {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(payload.length, 0);
    this.outbox.push(head, payload);
    this.outBytes += 4 + payload.length;
    this.flush();
  }

  private flush(): void {
    const socket = this.socket;
    if (!socket) return;
    while (this.outbox.length > 0) {
      const chunk = this.outbox[0]!;
      const n = socket.write(chunk);
      if (n < 0) {
        this.close("write failed");
        return;
      }
      this.outBytes -= n;
      if (n < chunk.length) {
        this.outbox[0] = chunk.subarray(n);
        return;
      }
      this.outbox.shift();
    }
  }
}

/** Opens an outbound link to a bus at host:port; failures close the link (events.closed). */
export function connectLink(
  host: string,
  port: number,
  secret: string,
  events: LinkEvents,
  nodeId: string | null,
): BusLink {
  const link = new BusLink("to", secret, events, nodeId);
  Bun.connect<BusLink>({
    hostname: host,
    port,
    socket: {
      open: (socket: Socket<BusLink>) => {
        socket.data = link;
        if (link.closed) socket.end();
        else link.attach(socket);
      },
      data: (socket, chunk) => socket.data?.onData(chunk),
      drain: (socket) => socket.data?.onDrain(),
      close: (socket) => socket.data?.close("peer closed"),
      error: (socket) => socket.data?.close("socket error"),
      connectError: () => link.close("connect failed"),
    },
  }).catch(() => link.close("connect failed"));
  return link;
}
