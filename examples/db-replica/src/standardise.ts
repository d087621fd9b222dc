import type { ChangeEnvelope } from "@tributary/connect";
import { Serdes, defineApp } from "@tributary/streams";

/** A customer as the replica keeps it: tidied, with the region derived from the country. */
export interface CleanCustomer {
  id: number;
  name: string;
  email: string;
  country: string;
  region: string;
  signed_up: string;
}

const REGIONS: Record<string, string> = {
  NO: "EMEA",
  SE: "EMEA",
  DE: "EMEA",
  FR: "EMEA",
  US: "AMER",
  BR: "AMER",
};

/** Standardise and enrich one row of the source table. */
export function standardise(row: Record<string, unknown>): CleanCustomer {
  const country = String(row.country).trim().toUpperCase();
  return {
    id: Number(row.id),
    name: String(row.name)
      .trim()
      .replace(/\b\w/g, (ch) => ch.toUpperCase()),
    email: String(row.email).trim().toLowerCase(),
    country,
    region: REGIONS[country] ?? "OTHER",
    signed_up: String(row.signed_up),
  };
}

/**
 * The change stream of shop.public.customers (Debezium envelopes from the Postgres
 * source) → one clean row per customer on `customers.clean`, keyed like the source. A
 * delete (and its tombstone) becomes a tombstone, so the replica sink deletes the row.
 */
export default defineApp({
  applicationId: "db-replica-standardise",
  topology: (b) => {
    const json = Serdes.json<unknown>();
    b.stream<unknown, ChangeEnvelope | null>("shop.public.customers", {
      keySerde: json,
      valueSerde: Serdes.json<ChangeEnvelope | null>(),
    })
      .mapValues((change) =>
        change === null || change.after === null ? null : standardise(change.after),
      )
      .to("customers.clean", { keySerde: json, valueSerde: Serdes.json<CleanCustomer | null>() });
  },
});
