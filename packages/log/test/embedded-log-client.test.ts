import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openEmbeddedLog } from "../src/embedded-log.js";
import type { LogClient } from "../src/client/log-client.js";
import { describeLogClientContract } from "../src/testing/log-client-contract.js";

describeLogClientContract("embedded", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-contract-"));
  let current: LogClient = await openEmbeddedLog(dir, { groupInitialRebalanceDelayMs: 50 });
  return {
    client: current,
    reopen: async () => {
      await current.close();
      current = await openEmbeddedLog(dir, { groupInitialRebalanceDelayMs: 50 });
      return current;
    },
    cleanup: async () => {
      await current.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
