import { REPLICA, SERVER, SHOP, withClient } from "./db.js";

/**
 * Creates the two databases: `shop` with a customers table and 1,000 customers (what
 * the snapshot will carry), and `shop_replica` with the standardised table the sink fills.
 */
await withClient(SERVER, async (c) => {
  for (const db of ["shop", "shop_replica"]) {
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${db}`);
  }
});
await withClient(SHOP, async (c) => {
  await c.query(
    "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, country text NOT NULL, signed_up timestamptz NOT NULL DEFAULT now())",
  );
  await c.query(
    `INSERT INTO customers (id, name, email, country)
     SELECT g, '  customer ' || g, 'Customer' || g || '@Example.COM', (ARRAY['no','se','de','fr','us','br'])[1 + g % 6]
     FROM generate_series(1, 1000) g`,
  );
});
await withClient(REPLICA, (c) =>
  c.query(
    "CREATE TABLE customers (id int PRIMARY KEY, name text, email text, country text, region text, signed_up timestamptz)",
  ),
);
console.log(`created shop (1000 customers) and shop_replica on ${SERVER}`);
