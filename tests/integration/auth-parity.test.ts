/**
 * AUTH and ACL replies byte for byte against a real redis-server (Redis 7.0's texts, where
 * Redis 7.0 and 8 agree; the NOPERM texts differ between them and follow 8, see acl.test.ts).
 */
import { expect, test } from "bun:test";
import { RawClient, startRedisRef } from "../helpers/redis-ref.ts";
import { resp, startTestServer } from "../helpers/server.ts";

const script: string[][] = [
  ["PING"],
  ["GET", "k"],
  ["NOSUCH", "a"],
  ["GET"],
  ["CLIENT", "SETNAME", "x"],
  ["HELLO", "3"],
  ["AUTH", "wrong"],
  ["AUTH", "nobody", "pw"],
  ["AUTH", "pw"],
  ["PING"],
  ["ACL", "WHOAMI"],
  ["ACL", "SETUSER", "x", "foo"],
  ["ACL", "SETUSER", "x", "+nosuch"],
  ["ACL", "SETUSER", "x", "on", ">p", "~k*", "+get"],
  ["ACL", "GETUSER", "nobody"],
  ["ACL", "DELUSER", "default"],
  ["ACL", "DELUSER", "x", "y"],
  ["ACL", "USERS"],
  ["ACL", "SAVE"],
  ["AUTH", "a", "b", "c"],
];

test("AUTH and ACL answer like redis-server, byte for byte", async () => {
  await using ref = await startRedisRef();
  await using ours = await startTestServer({ requirepass: "pw" });
  const setup = await RawClient.connect({ unix: ref.socket });
  await setup.send(resp("CONFIG", "SET", "requirepass", "pw"));
  const theirs = await RawClient.connect({ unix: ref.socket });
  const mine = await RawClient.connect({ port: ours.port });
  for (const command of script) {
    const want = (await theirs.send(resp(...command))).toString();
    const got = (await mine.send(resp(...command))).toString();
    expect(`${command.join(" ")} -> ${got}`).toBe(`${command.join(" ")} -> ${want}`);
  }
});
