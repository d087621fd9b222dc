import { StreamsArgumentError } from "../errors.js";

/** Checks a window duration given in ms. */
export function checkMs(what: string, ms: number, min = 0): number {
  if (!(Number.isInteger(ms) && ms >= min)) {
    throw new StreamsArgumentError(`${what} must be a whole number of ms >= ${min}, got ${ms}`);
  }
  return ms;
}
