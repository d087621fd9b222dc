import pg from "pg";

/** The server (scripts/postgres.sh prints it) and the two databases of the example. */
export const SERVER =
  process.env.TRIBUTARY_PG_URL ?? "postgres://postgres@127.0.0.1:55432/postgres";

export function database(name: string): string {
  const u = new URL(SERVER);
  u.pathname = `/${name}`;
  return u.toString();
}

export const SHOP = database("shop");
export const REPLICA = database("shop_replica");

export async function withClient<T>(url: string, body: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await body(c);
  } finally {
    await c.end();
  }
}
