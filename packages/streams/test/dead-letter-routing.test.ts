import { describe, expect, it } from "vitest";
import {
  DeadLetterHeaders,
  defineApp,
  type ErrorHandling,
  ProcessingError,
  Serdes,
} from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { str } from "./helpers.js";

class InvoiceRejected extends Error {}

function app(errorHandling?: ErrorHandling) {
  return defineApp({
    applicationId: "billing",
    config: errorHandling === undefined ? {} : { errorHandling },
    topology: (b) => {
      b.stream<string, { amount: number }>("invoices", { keySerde: str, valueSerde: Serdes.json() })
        .mapValues(
          (v) => {
            if (v.amount < 0) throw new InvoiceRejected(`negative amount ${v.amount}`);
            return v.amount;
          },
          { name: "check-amount" },
        )
        .groupByKey()
        .reduce((a, b) => a + b, { storeName: "totals", valueSerde: Serdes.json<number>() });
    },
  });
}

const header = (h: Record<string, Buffer | string>, name: string) => h[name]?.toString();

describe("poison records", () => {
  it("an undecodable value and a throwing function go to <app>-dlq with error headers, and processing goes on", () => {
    const driver = new TopologyTestDriver(app());
    const input = driver.createInputTopic<string, { amount: number }>("invoices");
    input.pipeInput("acme", { amount: 10 }, 1);
    input.pipeRaw(Buffer.from("acme"), Buffer.from("{not json"), 2); // offset 1
    input.pipeInput("acme", { amount: -5 }, 3, { "trace-id": "abc" }); // offset 2
    input.pipeInput("acme", { amount: 7 }, 4);

    expect(driver.getKeyValueStore<string, number>("totals").get("acme")).toBe(17);

    const dlq = driver.createOutputTopic<Buffer, Buffer>("billing-dlq").readRecordsToList();
    expect(dlq).toHaveLength(2);
    const [undecodable, thrown] = dlq;

    expect(undecodable!.key.toString()).toBe("acme");
    expect(undecodable!.value.toString()).toBe("{not json");
    expect(undecodable!.timestamp).toBe(2);
    const h1 = undecodable!.headers;
    expect(header(h1, DeadLetterHeaders.class)).toBe("SerdeDecodeError");
    expect(header(h1, DeadLetterHeaders.message)).toMatch(/not JSON/);
    expect(header(h1, DeadLetterHeaders.topic)).toBe("invoices");
    expect(header(h1, DeadLetterHeaders.partition)).toBe("0");
    expect(header(h1, DeadLetterHeaders.offset)).toBe("1");
    expect(header(h1, DeadLetterHeaders.stage)).toBe("deserialization");

    expect(JSON.parse(thrown!.value.toString())).toEqual({ amount: -5 });
    const h2 = thrown!.headers;
    expect(header(h2, DeadLetterHeaders.class)).toBe("InvoiceRejected");
    expect(header(h2, DeadLetterHeaders.message)).toBe("negative amount -5");
    expect(header(h2, DeadLetterHeaders.offset)).toBe("2");
    expect(header(h2, DeadLetterHeaders.stage)).toBe("processing");
    expect(header(h2, DeadLetterHeaders.processor)).toBe("check-amount");
    expect(header(h2, "trace-id")).toBe("abc"); // the record's own headers are kept
  });

  it("with errorHandling 'fail' throws a ProcessingError naming topic, partition and offset", () => {
    const driver = new TopologyTestDriver(app("fail"));
    const input = driver.createInputTopic<string, { amount: number }>("invoices");
    input.pipeInput("acme", { amount: 10 });
    let caught: unknown;
    try {
      input.pipeInput("acme", { amount: -1 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ProcessingError);
    const err = caught as ProcessingError;
    expect(err.message).toMatch(/invoices-0 offset 1/);
    expect(err.message).toMatch(/check-amount/);
    expect(err.message).toMatch(/errorHandling: "dead-letter"/);
    expect(err.where).toMatchObject({
      topic: "invoices",
      partition: 0,
      offset: 1,
      processor: "check-amount",
    });
    expect(err.cause).toBeInstanceOf(InvoiceRejected);

    expect(() => input.pipeRaw(Buffer.from("k"), Buffer.from([0xff, 0xfe]))).toThrow(
      /cannot decode the record at invoices-0 offset 2/,
    );
    expect(driver.producedTopicNames()).not.toContain("billing-dlq");
  });

  it("a failure in a later sub-topology names the repartition topic it read", () => {
    const rekeyed = defineApp({
      applicationId: "rk",
      config: { errorHandling: "fail" },
      topology: (b) => {
        b.stream<string, number>("in", { keySerde: str })
          .selectKey((_k, v) => String(v))
          .groupByKey({ keySerde: str })
          .aggregate(
            () => 0,
            (_k, v, a) => {
              if (v === 13) throw new Error("unlucky");
              return a + v;
            },
            { storeName: "s" },
          );
      },
    });
    const driver = new TopologyTestDriver(rekeyed);
    const input = driver.createInputTopic<string, number>("in");
    input.pipeInput("a", 1);
    // offset 1 of the repartition topic is the watermark the first task published at the
    // commit after "a", as on a worker
    expect(() => input.pipeInput("b", 13)).toThrow(/rk-s-repartition-0 offset 2/);
  });
});
