import { describe, expect, it } from "vitest";
import { InvalidNameError } from "../src/errors.js";
import { isInternalTopic, isValidTopicName, quoteName, validateTopicName } from "../src/names.js";

function rejection(name: string): InvalidNameError {
  try {
    validateTopicName(name);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidNameError);
    expect((e as InvalidNameError).code).toBe("INVALID_TOPIC_NAME");
    expect(isValidTopicName(name)).toBe(false);
    return e as InvalidNameError;
  }
  throw new Error(`expected ${JSON.stringify(name)} to be rejected`);
}

describe("topic names follow Kafka's rules", () => {
  it("accepts names made of [a-zA-Z0-9._-] up to 249 characters", () => {
    for (const ok of [
      "orders",
      "a",
      "A.b_c-9",
      "__consumer_offsets",
      "x".repeat(249),
      "..a",
      "a..",
      "-",
    ]) {
      expect(() => validateTopicName(ok)).not.toThrow();
      expect(isValidTopicName(ok)).toBe(true);
    }
  });

  it("rejects the empty name", () => {
    expect(rejection("").message).toMatch(/empty/);
  });

  it("rejects . and .. which name directories", () => {
    expect(rejection(".").message).toMatch(/'\.' is not allowed/);
    expect(rejection("..").message).toMatch(/'\.\.' is not allowed/);
  });

  it("rejects path separators and traversal", () => {
    expect(rejection("../x").message).toMatch(/contains '\/' at position 2/);
    expect(rejection("a/b").message).toMatch(/'\/'/);
    expect(rejection("a\\b").message).toContain("contains '\\\\' at position 1");
    expect(rejection("/etc/passwd").message).toMatch(/position 0/);
  });

  it("rejects names over 249 characters, saying the length", () => {
    expect(rejection("x".repeat(250)).message).toMatch(/250 characters long: the limit is 249/);
  });

  it("rejects spaces, NUL and control characters, and shows them escaped", () => {
    expect(rejection("with space").message).toMatch(/' ' at position 4/);
    const nul = rejection("a\u0000b").message;
    expect(nul).toContain("'a\\x00b'");
    expect(nul).not.toContain("\u0000");
    expect(rejection("a\nb").message).toContain("\\x0a");
    expect(rejection("tab\there").message).toContain("\\x09");
  });

  it("rejects unicode look-alikes, naming the code point", () => {
    // Cyrillic 'а' (U+0430) looks like Latin 'a'
    expect(rejection("t\u0430sks").message).toContain("\\u0430");
    // full-width solidus and a one-dot leader look like '/' and '.'
    expect(rejection("a\uff0fb").message).toContain("\\uff0f");
    expect(rejection("\u2024\u2024").message).toContain("\\u2024");
    expect(rejection("caf\u00e9").message).toContain("\\xe9");
  });

  it("rejects non-strings without crashing", () => {
    expect(() => validateTopicName(undefined as unknown as string)).toThrow(InvalidNameError);
    expect(() => validateTopicName(null as unknown as string)).toThrow(/got null/);
  });

  it("internal topics are the ones starting with __, independent of validity", () => {
    expect(isInternalTopic("__consumer_offsets")).toBe(true);
    expect(isInternalTopic("_single")).toBe(false);
    expect(isInternalTopic("orders")).toBe(false);
  });

  it("quoteName escapes quotes and backslashes so the quoted form is unambiguous", () => {
    expect(quoteName("it's")).toBe("'it\\'s'");
    expect(quoteName("a\\b")).toBe("'a\\\\b'");
  });
});
