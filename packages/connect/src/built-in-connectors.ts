import type { Connector } from "./connector.js";
import { filesSinkConnector } from "./files/files-sink-connector.js";
import { postgresSinkConnector } from "./postgres/postgres-sink-connector.js";
import { postgresSourceConnector } from "./postgres/postgres-source-connector.js";

/** The connectors a config file can name by `type`. */
export const BUILT_IN_CONNECTORS: Record<string, Connector> = {
  [postgresSourceConnector.type]: postgresSourceConnector as Connector,
  [postgresSinkConnector.type]: postgresSinkConnector as Connector,
  [filesSinkConnector.type]: filesSinkConnector as Connector,
};
