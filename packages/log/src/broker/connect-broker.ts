import type { LogClient } from "../client/log-client.js";
import { ServiceLogClient } from "../client/service-log-client.js";
import type { BrokerAddress } from "./broker-address.js";
import { RemoteLogService, type RemoteLogServiceOptions } from "./remote-log-service.js";

/**
 * A LogClient on a running broker: `connectBroker("tcp://127.0.0.1:7070")`. Closing the
 * client closes the connection (its group members leave first).
 */
export async function connectBroker(
  address: string | BrokerAddress,
  options: RemoteLogServiceOptions = {},
): Promise<LogClient> {
  return new ServiceLogClient(await RemoteLogService.connect(address, options));
}
