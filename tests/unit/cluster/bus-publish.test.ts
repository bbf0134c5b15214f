/** bus-publish.ts: a PUBLISH travels the bus binary-safe, and one too large for a frame stays home. */
import { expect, test } from "bun:test";
import { publishMessage, readPublish } from "../../../src/cluster/bus-publish.ts";
import { limits } from "../../../src/limits.ts";

test("channel and message come back byte for byte", () => {
  const channel = Uint8Array.from([0, 255, 10, 13]);
  const message = Uint8Array.from({ length: 1000 }, (_, i) => i % 256);
  const msg = publishMessage("a".repeat(40), channel, message)!;
  expect(msg.t).toBe("publish");
  const back = readPublish(JSON.parse(JSON.stringify(msg)))!;
  expect([...back.channel]).toEqual([...channel]);
  expect([...back.message]).toEqual([...message]);
});

test("a message that would not fit in a bus frame is not sent, and junk reads as null", () => {
  const big = new Uint8Array(limits.clusterPublishBytesMax);
  expect(publishMessage("a".repeat(40), Uint8Array.of(1), big)).toBeNull();
  expect(readPublish({ t: "publish", channel: 1, message: "x" })).toBeNull();
});
