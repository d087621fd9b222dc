import { describe, expect, it } from "vitest";
import { envelopeSpan } from "../src/postgres/envelope-span.js";

/** What JSON.parse makes of `text`: the envelope's after (as JSON) and whether op is "d". */
function byJsonParse(text: string): { after: string; isDelete: boolean } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== "object") return undefined;
  const e = v as Record<string, unknown>;
  if (typeof e.op !== "string" || !("after" in e) || !("before" in e)) return undefined;
  return { after: JSON.stringify(e.after), isDelete: e.op === "d" };
}

function bySpan(text: string): { after: string; isDelete: boolean } | undefined {
  const b = Buffer.from(text);
  const span = envelopeSpan(b);
  if (span === undefined) return undefined;
  const after = JSON.stringify(JSON.parse(b.toString("utf8", span.afterStart, span.afterEnd)));
  return { after, isDelete: span.isDelete };
}

const BASE =
  '{"before":null,"after":{"id":7,"name":"n \\"q\\" é \\u00e9","tags":[1,-2.5e3,true,false,null],"o":{}},"op":"u","ts_ms":1,"source":{"a":{"b":[{}]}}}';

describe("envelopeSpan", () => {
  it("finds what JSON.parse finds in envelopes, and claims nothing JSON.parse rejects", () => {
    const cases = [
      BASE,
      '{"before":null,"after":{"id":1},"op":"d"}',
      '{"before":null,"after":null,"op":"u"}',
      ' { "op" : "r" ,\n"before" : [1,{"a":[]}],\t"after" : {"x":"a"} } ',
      '{"before":null,"after":{"id":1},"op":"c","op":"d"}',
      '{"before":null,"after":{"id":1},"op":"c","after":{"id":2}}',
      '{"before":null,"after":[1],"op":"c"}',
      '{"before":null,"after":{"id":1},"op":"c",}',
      '{"before":null,"after":{"id":01},"op":"c"}',
      '{"before":null,"after":{"id":1.},"op":"c"}',
      '{"before":null,"after":{"id":1},"op":"c"} x',
      '{"before":null,"after":{"id":1},"op":1}',
      '{"after":{"id":1},"op":"c"}',
      '{"before":null,"after":{"a":"\\x"},"op":"c"}',
      '{"before":null,"after":{"a":"\t"},"op":"c"}',
      '{"before":null,"after":{"id":1},"op":"c","ts_ms":tru}',
      '{"id":5,"name":"plain row"}',
      "{}",
      "[]",
      "",
    ];
    // Mutations of a real envelope: characters dropped, added or replaced at random.
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = '{}[]",:\\ 0123456789eE+-.tfnulax';
    for (let i = 0; i < 30_000; i++) {
      let s = BASE;
      for (let j = 0; j <= i % 3; j++) {
        const p = rand(s.length);
        const c = alphabet[rand(alphabet.length)]!;
        const how = rand(3);
        s = s.slice(0, p) + (how === 0 ? "" : c) + s.slice(how === 1 ? p : p + 1);
      }
      cases.push(s);
    }
    let found = 0;
    for (const text of cases) {
      const mine = bySpan(text);
      if (mine === undefined) continue;
      found++;
      expect({ text, ...byJsonParse(text) }).toEqual({ text, ...mine });
    }
    // The plain cases above are found; so are some of the mutations that stay JSON.
    expect(found).toBeGreaterThan(1_000);
    expect(bySpan(BASE)).toEqual(byJsonParse(BASE));
    expect(bySpan('{"before":null,"after":{"id":1},"op":"d"}')?.isDelete).toBe(true);
  });

  it("leaves to JSON.parse what it does not decode: escaped names or op, deep nesting", () => {
    expect(envelopeSpan(Buffer.from('{"before":null,"a\\u0066ter":{"id":1},"op":"c"}'))).toBe(
      undefined,
    );
    expect(envelopeSpan(Buffer.from('{"before":null,"after":{"id":1},"op":"\\u0064"}'))).toBe(
      undefined,
    );
    const deep = `${"[".repeat(100)}${"]".repeat(100)}`;
    expect(envelopeSpan(Buffer.from(`{"before":${deep},"after":{},"op":"c"}`))).toBe(undefined);
  });
});
