import { REPLICA, SHOP, withClient } from "./db.js";
import { standardise } from "./standardise.js";

/** Prints how far the replica is from the standardised source, row by row. */
const source = await withClient(SHOP, (c) => c.query("SELECT * FROM customers ORDER BY id"));
const replica = await withClient(REPLICA, (c) =>
  c.query("SELECT id, name, email, country, region FROM customers ORDER BY id"),
);
const want = new Map(
  source.rows.map((r) => {
    const s = standardise(r);
    return [s.id, JSON.stringify([s.id, s.name, s.email, s.country, s.region])];
  }),
);
const have = new Map(
  replica.rows.map((r) => [
    r.id as number,
    JSON.stringify([r.id, r.name, r.email, r.country, r.region]),
  ]),
);
let differ = 0;
for (const id of new Set([...want.keys(), ...have.keys()]))
  if (want.get(id) !== have.get(id)) differ++;
console.log(`source ${want.size} rows, replica ${have.size} rows, ${differ} differ`);
process.exitCode = differ === 0 ? 0 : 1;
