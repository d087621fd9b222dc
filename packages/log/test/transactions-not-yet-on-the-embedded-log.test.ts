import { afterEach, describe, expect, it } from "vitest";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

describe("transactions on the embedded log", () => {
  it("are refused up front with UNSUPPORTED, naming where they exist, rather than silently not transactional", async () => {
    const client = await openEmbeddedLog(tempDir(), { maintenanceIntervalMs: 0 });
    expect(() => client.transactionalProducer({ transactionalId: "t" })).toThrow(
      expect.objectContaining({
        code: "UNSUPPORTED",
        message: expect.stringMatching(/transactions are not yet served .* run on Kafka/),
      }),
    );
    await client.close();
  });
});
