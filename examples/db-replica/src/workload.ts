import { SHOP, withClient } from "./db.js";

/**
 * Changes customers in transactions: new sign-ups, e-mail and country changes, and
 * account deletions, `CHANGES` of them (default 5,000), then exits.
 */
const CHANGES = Number(process.env.CHANGES ?? 5000);
await withClient(SHOP, async (c) => {
  for (let done = 0; done < CHANGES; ) {
    await c.query("BEGIN");
    for (let i = 0; i < 5; i++, done++) {
      const id = 1 + Math.floor(Math.random() * 2000);
      const r = Math.random();
      if (r < 0.4) {
        await c.query(
          "INSERT INTO customers (id, name, email, country) VALUES ($1, $2, $3, 'de') ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email",
          [id, `  new customer ${id}`, `New${id}@Example.com`],
        );
      } else if (r < 0.8) {
        await c.query("UPDATE customers SET country = $2 WHERE id = $1", [
          id,
          ["no", "us", "fr"][id % 3],
        ]);
      } else {
        await c.query("DELETE FROM customers WHERE id = $1", [id]);
      }
    }
    await c.query("COMMIT");
  }
});
console.log(`made ${CHANGES} changes`);
