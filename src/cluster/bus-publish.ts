/**
 * PUBLISH across the cluster (Redis's CLUSTERMSG_TYPE_PUBLISH): a PUBLISH on one node is sent
 * to every node it has a ready bus link to, and each delivers it to its own subscribers
 * without forwarding it further. Channel and message are binary, so they travel base64 in
 * the JSON body. A message is small next to the sender's header, which it does not carry.
 */
import { limits } from "../limits.ts";
import type { BusMessage } from "./bus-link.ts";

/** The bus message for one PUBLISH, or null when it would not fit in a bus frame. */
export function publishMessage(
  senderId: string,
  channel: Uint8Array,
  message: Uint8Array,
): BusMessage | null {
  // base64 grows 4/3; the JSON around it is small.
  if (((channel.length + message.length) * 4) / 3 + 256 > limits.clusterPublishBytesMax)
    return null;
  return {
    t: "publish",
    id: senderId,
    channel: Buffer.from(channel).toString("base64"),
    message: Buffer.from(message).toString("base64"),
  };
}

/** A publish message's channel and message, or null when it is malformed. */
export function readPublish(msg: BusMessage): { channel: Uint8Array; message: Uint8Array } | null {
  if (typeof msg.channel !== "string" || typeof msg.message !== "string") return null;
  return {
    channel: Buffer.from(msg.channel, "base64"),
    message: Buffer.from(msg.message, "base64"),
  };
}
