import fs from "node:fs";
import {
  type LogClient,
  openEmbeddedLog,
  Serdes,
  type TransactionalProducer,
} from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommitAbortedError } from "../src/errors.js";
import { ExactlyOnceCommitter } from "../src/runtime/exactly-once-commit.js";
import type { CommitSteps } from "../src/runtime/task-committer.js";
import { readTopic, tempDir } from "./runtime-helpers.js";

/**
 * A send through the exactly-once committer's producer while its transaction ends — a
 * commitTransaction or an abortTransaction in flight — belongs to the next transaction:
 * it waits for the end and begins a new one, never joining the ending transaction (whose
 * commit would then carry a record of the next commit's inputs, or whose abort would drop
 * it). Driven directly on a real embedded log; the transactional producer is the log's
 * own, behind a gate that holds commitTransaction / abortTransaction until the test opens
 * it (a stand-in for a slow broker round trip), and that records what reached it.
 */
const str = Serdes.string();
const TOPIC = "out";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The log, with its transactional producer's ends held at a gate (see above). */
function gatedEnds(log: LogClient) {
  const gate = {
    sent: [] as string[],
    ending: deferred(),
    open: deferred(),
    /** Holds the next commitTransaction or abortTransaction until `release()`. */
    hold() {
      gate.ending = deferred();
      gate.open = deferred();
    },
    release() {
      gate.open.resolve();
    },
  };
  let held = false;
  let fail = false;
  const atGate = async () => {
    if (!held) return;
    held = false;
    gate.ending.resolve();
    await gate.open.promise;
    if (fail) {
      fail = false;
      throw new Error("commitTransaction failed in the test");
    }
  };
  // the committer asks its log for the transactional producer only
  const wrapped = Object.create(log) as LogClient;
  wrapped.transactionalProducer = (o) => {
    const t = log.transactionalProducer(o);
    const p: TransactionalProducer = {
      initTransactions: () => t.initTransactions(),
      beginTransaction: () => t.beginTransaction(),
      send: (topic, records) => {
        for (const r of records) gate.sent.push(String(r.value?.toString()));
        return t.send(topic, records);
      },
      sendOffsets: (offsets, group) => t.sendOffsets(offsets, group),
      commitTransaction: async () => {
        await atGate();
        return t.commitTransaction();
      },
      abortTransaction: async () => {
        await atGate();
        return t.abortTransaction();
      },
      close: () => t.close(),
    };
    return p;
  };
  return {
    log: wrapped,
    gate,
    /** Holds the next end at the gate; `failing`: then it fails instead of ending. */
    holdNext(failing = false) {
      gate.hold();
      held = true;
      fail = failing;
    },
  };
}

/** A commit with no outputs buffered, no stores and no input offsets: the transaction only. */
const bareCommit: CommitSteps = {
  flushOutputs: async () => {},
  commitStores: () => [],
  offsets: [],
};

/** Lets every pending continuation run: a send that does not wait has reached the producer. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe("the exactly-once committer's sends while a transaction ends", () => {
  let dir: string;
  let log: LogClient;

  beforeEach(async () => {
    dir = tempDir("eos-send-window");
    log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
    await log.admin.createTopic(TOPIC, { partitions: 1 });
  });
  afterEach(async () => {
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A committer on the gated log; `send` one value through it; what read_committed sees. */
  const setUp = async () => {
    const { log: gated, gate, holdNext } = gatedEnds(log);
    const committer = new ExactlyOnceCommitter(
      gated,
      { transactionalId: "t-1", clientId: "t-1", commitIntervalMs: 100 },
      () => {
        throw new Error("no offsets are committed in this test");
      },
    );
    await committer.init();
    const send = (value: string) =>
      committer.producer.send(TOPIC, [{ key: null, value: Buffer.from(value) }]);
    const committedValues = async () =>
      (await readTopic(log, TOPIC, str, str, "read_committed")).records.map((r) => r.value);
    return { committer, gate, holdNext, send, committedValues };
  };

  it("a send during commitTransaction or abortTransaction waits and goes in the next transaction", async () => {
    const { committer, gate, holdNext, send, committedValues } = await setUp();

    // transaction 1: "a"; "b" is sent while it commits
    await send("a");
    holdNext();
    const commit1 = committer.commit(bareCommit);
    await gate.ending.promise; // commitTransaction has been called
    let bDone = false;
    const b = send("b").then(() => {
      bDone = true;
    });
    await settle();
    expect(gate.sent).toEqual(["a"]); // "b" waits: it never reached the ending transaction
    expect(bDone).toBe(false);
    gate.release();
    await commit1;
    await b; // in transaction 2, now open: read_committed readers stop before it

    // transaction 2: "b" and "c", aborted; "d" is sent while it aborts
    await send("c");
    holdNext();
    const abort2 = committer.abort(new Error("aborted by the test"));
    await gate.ending.promise; // abortTransaction has been called
    let dDone = false;
    const d = send("d").then(() => {
      dDone = true;
    });
    await settle();
    expect(gate.sent).toEqual(["a", "b", "c"]);
    expect(dDone).toBe(false);
    gate.release();
    await abort2;
    await d;

    // transaction 3: "d" alone, committed. Had "b" joined transaction 1, it would be here.
    await committer.commit(bareCommit);
    expect(await committedValues()).toEqual(["a", "d"]);
    const everything = await readTopic(log, TOPIC, str, str, "read_uncommitted");
    expect(everything.records.map((r) => r.value)).toEqual(["a", "b", "c", "d"]);
    expect([committer.committed, committer.aborted]).toEqual([2, 1]);
    await committer.close();
  });

  it("a send during a commitTransaction that fails waits for the abort and goes in the next transaction", async () => {
    const { committer, gate, holdNext, send, committedValues } = await setUp();
    await send("x");
    holdNext(true);
    const failing = committer.commit(bareCommit);
    failing.catch(() => {}); // awaited below
    await gate.ending.promise;
    let yDone = false;
    const y = send("y").then(() => {
      yDone = true;
    });
    await settle();
    expect(gate.sent).toEqual(["x"]);
    expect(yDone).toBe(false);
    gate.release();
    await expect(failing).rejects.toBeInstanceOf(CommitAbortedError);
    await y;
    await committer.commit(bareCommit);
    // "x" went with the failed transaction; "y", had it joined it, would be gone too
    expect(await committedValues()).toEqual(["y"]);
    expect([committer.committed, committer.aborted]).toEqual([1, 1]);
    await committer.close();
  });
});
