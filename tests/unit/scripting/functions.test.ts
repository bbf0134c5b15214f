import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dumpPayload, parsePayload } from "../../../src/scripting/function-store.ts";
import { parseLibrary } from "../../../src/scripting/library-code.ts";
import { fakeServer, plain } from "./fake-host.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const LIB = `#!lua name=mylib
redis.register_function('getk', function(keys, args) return redis.call('get', keys[1]) end)
redis.register_function{function_name='boom', callback=function(keys, args)
  return x
end, flags={'no-writes'}, description='fails'}
`;

describe("library code", () => {
  test("the shebang names the library and the line numbers are kept", () => {
    const lib = parseLibrary(enc("#!lua name=a\nreturn 1"));
    expect(lib.name).toBe("a");
    expect(new TextDecoder().decode(lib.body)).toBe("\nreturn 1");
  });
  test("bad shebangs get Redis's errors", () => {
    expect(() => parseLibrary(enc("return 1"))).toThrow("Missing library metadata");
    expect(() => parseLibrary(enc("#!js name=x\n"))).toThrow("Engine 'js' not found");
    expect(() => parseLibrary(enc("#!lua\n"))).toThrow("Library name was not given");
    expect(() => parseLibrary(enc("#!lua name=x foo=bar\n"))).toThrow(
      "Invalid metadata value given: foo=bar",
    );
  });
});

describe("function libraries", () => {
  test("load, call, list, delete", async () => {
    const s = fakeServer();
    const fns = s.engine.functions;
    expect(fns.load(enc(LIB), false)).toBe("mylib");
    s.data.set("k", enc("v"));
    expect(plain(await s.engine.fcall(s.ctx, "getk", [enc("k")], [], false))).toBe("v");
    expect(plain(await s.engine.fcall(s.ctx, "boom", [], [], true))).toBe(
      "-ERR user_function:4: Script attempted to access nonexistent global variable 'x' script: boom, on @user_function:4.",
    );
    expect(() => s.engine.fcall(s.ctx, "getk", [], [], true)).toThrow(
      "Can not execute a script with write flag using *_ro command.",
    );
    expect(() => s.engine.fcall(s.ctx, "nope", [], [], false)).toThrow("Function not found");
    expect(() => fns.load(enc(LIB), false)).toThrow("Library 'mylib' already exists");
    expect(fns.load(enc(LIB), true)).toBe("mylib");
    expect(() =>
      fns.load(enc("#!lua name=other\nredis.register_function('getk', function() end)"), false),
    ).toThrow("Function getk already exists");
    expect(fns.list().map((l) => l.name)).toEqual(["mylib"]);
    fns.delete("mylib");
    expect(() => fns.delete("mylib")).toThrow("Library not found");
    expect(fns.functionCount).toBe(0);
  });
  test("loading code may only register functions", () => {
    const fns = fakeServer().engine.functions;
    expect(() => fns.load(enc("#!lua name=x\nredis.call('ping')"), false)).toThrow(
      "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'",
    );
    expect(() => fns.load(enc("#!lua name=x\nreturn 1"), false)).toThrow("No functions registered");
    expect(() => fns.load(enc("#!lua name=x\nsyntax error"), false)).toThrow(
      "Error compiling function: user_function:2: '=' expected near 'error'",
    );
  });
  test("libraries persist in the data dir and come back", () => {
    const dir = mkdtempSync(join(tmpdir(), "blobasaur-fn-"));
    try {
      fakeServer(dir).engine.functions.load(enc(LIB), false);
      expect(JSON.parse(readFileSync(join(dir, "functions.json"), "utf8")).libraries.length).toBe(
        1,
      );
      const again = fakeServer(dir).engine.functions;
      expect(again.find("getk")?.library).toBe("mylib");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("DUMP and RESTORE round-trip, with every policy", () => {
    const a = fakeServer().engine.functions;
    a.load(enc(LIB), false);
    const payload = a.dump();
    const b = fakeServer().engine.functions;
    b.restore(payload, "APPEND");
    expect(b.find("boom")?.flags).toEqual(["no-writes"]);
    expect(() => b.restore(payload, "APPEND")).toThrow("Library mylib already exists");
    b.restore(payload, "REPLACE");
    b.load(enc("#!lua name=extra\nredis.register_function('e', function() return 1 end)"), false);
    b.restore(payload, "FLUSH");
    expect(b.list().map((l) => l.name)).toEqual(["mylib"]);
  });
  test("a corrupted payload is refused", () => {
    const payload = dumpPayload([enc(LIB)]);
    expect(parsePayload(payload).length).toBe(1);
    payload[8] = payload[8]! ^ 1;
    expect(() => parsePayload(payload)).toThrow("DUMP payload version or checksum are wrong");
  });
});
