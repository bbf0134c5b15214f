/** The inline (small hash) encoding: round trips, order, expiries, and malformed input. */
import { expect, test } from "bun:test";
import {
  decodeInline,
  encodeInline,
  type FieldItem,
  InlineFormatError,
  inlineHasLive,
} from "../../../src/storage/keyspace/inline-hash.ts";

const enc = new TextEncoder();
const item = (f: string, v: string, expiresAt: number | null = null): FieldItem => ({
  field: enc.encode(f),
  value: enc.encode(v),
  expiresAt,
});
const plain = (items: FieldItem[]) =>
  items.map((i) => [Buffer.from(i.field).toString(), Buffer.from(i.value).toString(), i.expiresAt]);

test("entries round-trip in their order, with and without expiries", () => {
  const a = [item("foo1", "a"), item("foo2", "b"), item("foo3", "c")];
  expect(plain(decodeInline(encodeInline(a)))).toEqual(plain(a));
  const b = [item("x", "1", 1_700_000_000_123), item("y", "", null)];
  expect(plain(decodeInline(encodeInline(b)))).toEqual(plain(b));
  expect(plain(decodeInline(encodeInline([])))).toEqual([]);
});

test("binary fields and values longer than one varint byte survive", () => {
  const field = new Uint8Array(300).map((_, i) => i & 0xff);
  const value = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
  const [back] = decodeInline(encodeInline([{ field, value, expiresAt: null }]));
  expect(Buffer.from(back!.field).equals(Buffer.from(field))).toBe(true);
  expect(Buffer.from(back!.value).equals(Buffer.from(value))).toBe(true);
});

test("inlineHasLive is false once every field has expired", () => {
  expect(inlineHasLive(encodeInline([item("a", "1")]), 10)).toBe(true);
  expect(inlineHasLive(encodeInline([]), 10)).toBe(false);
  const timed = encodeInline([item("a", "1", 100), item("b", "2", 200)]);
  expect(inlineHasLive(timed, 150)).toBe(true);
  expect(inlineHasLive(timed, 200)).toBe(false);
});

test("malformed bytes throw InlineFormatError instead of reading past the end", () => {
  expect(() => decodeInline(new Uint8Array([9]))).toThrow(InlineFormatError);
  const good = encodeInline([item("field", "value", 5)]);
  for (let cut = 1; cut < good.length; cut++) {
    expect(() => decodeInline(good.subarray(0, cut))).toThrow(InlineFormatError);
  }
});

test("inlineFind returns the same entry as a full decode, and null for an absent field", async () => {
  const { inlineFind } = await import("../../../src/storage/keyspace/inline-hash.ts");
  const items = [item("a", "1"), item("bb", "22", 5), item("ccc", ""), item("b", "x")];
  for (const bytes of [
    encodeInline(items),
    encodeInline(items.map((i) => ({ ...i, expiresAt: null }))),
  ]) {
    for (const want of decodeInline(bytes)) {
      const got = inlineFind(bytes, want.field)!;
      expect(plain([got])).toEqual(plain([want]));
    }
    expect(inlineFind(bytes, enc.encode("zz"))).toBeNull();
    expect(inlineFind(bytes, enc.encode(""))).toBeNull();
  }
});
