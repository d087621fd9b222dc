import { InvalidArgumentError } from "@tributary/log";

/**
 * The APIs Tributary writes itself (Produce with finished batches, Fetch leaving records
 * as bytes) at the version the broker and client negotiated, capped at the newest this
 * code knows. One API object per version, made on first use.
 */
export class VersionedApi<Api, Part> {
  private readonly made = new Map<number, Api>();
  private readonly newest: number;

  constructor(
    private readonly name: string,
    /** What each version this code speaks needs (its parser or request builder). */
    private readonly versions: Record<number, Part>,
    private readonly make: (version: number, part: Part) => Api,
  ) {
    this.newest = Math.max(...Object.keys(versions).map(Number));
  }

  at(negotiated: number): Api {
    const v = Math.min(negotiated, this.newest);
    const part = this.versions[v];
    if (part === undefined) {
      const oldest = Math.min(...Object.keys(this.versions).map(Number));
      throw new InvalidArgumentError(
        `the Kafka broker speaks ${this.name} up to version ${negotiated}; Tributary needs ${oldest} or later: upgrade the Kafka cluster`,
      );
    }
    let api = this.made.get(v);
    if (api === undefined) {
      api = this.make(v, part);
      this.made.set(v, api);
    }
    return api;
  }
}
