import fs from "node:fs";
import { BrokerServer } from "../src/broker/broker-server.js";
import { connectBroker } from "../src/broker/connect-broker.js";
import { formatBrokerAddress } from "../src/broker/broker-address.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import type { LogClient } from "../src/client/log-client.js";
import { tempDir } from "./broker-helpers.js";
import { describeLogClientContract } from "../src/testing/log-client-contract.js";

// The remote LogClient must behave exactly as the embedded one: the same suite, run over a
// real socket to a broker serving a real embedded log in this process.
describeLogClientContract("remote (broker over TCP)", async () => {
  const dir = tempDir("broker-contract");
  const service = await EmbeddedLogService.open(dir, { groupInitialRebalanceDelayMs: 50 });
  const server = await BrokerServer.listen(service, { address: "127.0.0.1:0" });
  const address = formatBrokerAddress(server.address);
  let current: LogClient = await connectBroker(address);
  return {
    client: current,
    reopen: async () => {
      await current.close();
      current = await connectBroker(address);
      return current;
    },
    cleanup: async () => {
      await current.close();
      await server.close();
      await service.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
