/**
 * Writer Worker of the worker-writer experiment: owns its shard files (our table layout and
 * upsert, WAL, synchronous NORMAL) and commits each batch it is sent in one transaction per
 * shard, then reports the batch id back.
 */
import { Database, type Statement } from "bun:sqlite";
import { createKeyspaceSql, keySql, keyspaceTables } from "../../src/storage/engine/sql.ts";

declare const self: Worker;

interface Shard {
  db: Database;
  upsert: Statement;
  begin: Statement;
  commit: Statement;
}
const shards: Shard[] = [];
const utf8 = new TextDecoder();

self.onmessage = (
  e: MessageEvent<
    | { type: "open"; paths: string[] }
    | { type: "batch"; id: number; shards: { slot: number; buf: ArrayBuffer }[] }
  >,
) => {
  const msg = e.data;
  if (msg.type === "open") {
    for (const path of msg.paths) {
      const db = new Database(path, { create: true, strict: true });
      db.run("PRAGMA journal_mode = WAL");
      db.run("PRAGMA synchronous = NORMAL");
      db.run(createKeyspaceSql(keyspaceTables(0)));
      shards.push({
        db,
        upsert: db.prepare(keySql(keyspaceTables(0)).upsert),
        begin: db.prepare("BEGIN IMMEDIATE"),
        commit: db.prepare("COMMIT"),
      });
    }
    return;
  }
  const now = Date.now();
  for (const { slot, buf } of msg.shards) {
    const shard = shards[slot]!;
    const view = new DataView(buf);
    const bytes = new Uint8Array(buf);
    shard.begin.run();
    for (let at = 0; at < buf.byteLength; ) {
      const kl = view.getUint32(at);
      const vl = view.getUint32(at + 4);
      const key = utf8.decode(bytes.subarray(at + 8, at + 8 + kl));
      const value = new Uint8Array(vl + 1);
      value.set(bytes.subarray(at + 8 + kl, at + 8 + kl + vl), 1);
      shard.upsert.run(key, value, now, null, 0);
      at += 8 + kl + vl;
    }
    shard.commit.run();
  }
  postMessage({ id: msg.id });
};
