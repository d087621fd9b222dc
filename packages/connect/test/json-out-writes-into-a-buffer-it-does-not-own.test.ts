import { describe, expect, it } from "vitest";
import { JsonOut } from "../src/postgres/json-out.js";

describe("JsonOut.into (writing straight into a record batch's buffer)", () => {
  it("writes in place while the value fits", () => {
    const target = Buffer.alloc(64, 0x2e);
    const out = new JsonOut(16);
    out.into(target, 10);
    out.text('{"a":');
    out.skip(2);
    out.int(-42);
    expect(out.buf).toBe(target);
    expect(out.written).toBe(10);
    expect(target.toString("latin1", 10, 15)).toBe('{"a":');
    expect(target.toString("latin1", 17, 20)).toBe("-42");
  });

  it("moves the value to a buffer of its own when it outgrows the target, or starts past its end", () => {
    const target = Buffer.alloc(32, 0x2e);
    for (const at of [28, 32, 35]) {
      const out = new JsonOut(16);
      out.into(target, at);
      out.text('{"id":1234567}');
      expect(out.buf).not.toBe(target);
      expect(out.written).toBe(14);
      // What was written is, whole, at the start of the new buffer (mark moved to 0).
      expect(out.buf.toString("latin1", 0, out.written)).toBe('{"id":1234567}');
    }
  });
});
