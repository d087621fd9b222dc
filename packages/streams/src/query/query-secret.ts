import * as fs from "node:fs";
import { StreamsArgumentError } from "../errors.js";

/**
 * The query secret from the environment: `TRIBUTARY_QUERY_SECRET`, or the first line of
 * the file `TRIBUTARY_QUERY_SECRET_FILE`; undefined when neither is set. `tributary run`
 * passes its environment to its workers, so they and `tributary query` agree on it.
 */
export function querySecretFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env.TRIBUTARY_QUERY_SECRET;
  if (direct !== undefined && direct !== "") return direct;
  const file = env.TRIBUTARY_QUERY_SECRET_FILE;
  if (file === undefined || file === "") return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new StreamsArgumentError(
      `TRIBUTARY_QUERY_SECRET_FILE '${file}' cannot be read (${(e as Error).message}): point it at a file whose first line is the query secret`,
    );
  }
  const secret = text.split(/\r?\n/)[0] ?? "";
  if (secret === "") {
    throw new StreamsArgumentError(`TRIBUTARY_QUERY_SECRET_FILE '${file}' has an empty first line`);
  }
  return secret;
}
