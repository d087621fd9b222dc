import type { FkCustomer, FkOrder, OrderCustomer } from "./fixtures/fk-orders-customers-app.js";
import { orderWithCustomer } from "./fixtures/fk-orders-customers-app.js";
import { seeded } from "./helpers.js";

/** One change to an input table: a null value deletes the row. */
export type FkChange =
  | { table: "orders"; key: string; value: FkOrder | null }
  | { table: "customers"; key: string; value: FkCustomer | null };

/**
 * The phases the foreign-key join tests replay, in order: inserts (orders naming
 * customers that exist, that do not yet, or none), orders moving to another customer,
 * customers renamed and added, customers deleted, orders deleted. Every kind of change
 * KIP-213 must get right appears in the phase named for it.
 */
export function foreignKeyPhases(seed: number): { name: string; changes: FkChange[] }[] {
  const rand = seeded(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const orders = new Map<string, FkOrder>();
  const order = (id: string, customer: string | null): FkChange => {
    const o = { id, customer, amount: 1 + pick(100) };
    orders.set(id, o);
    return { table: "orders", key: id, value: o };
  };
  const customer = (id: string, version: number): FkChange => ({
    table: "customers",
    key: id,
    value: { name: `${id} v${version}` },
  });
  const inserts: FkChange[] = [];
  for (let i = 0; i < 30; i++) inserts.push(customer(`c${i}`, 1));
  for (let i = 0; i < 120; i++) inserts.push(order(`o${i}`, i % 24 === 5 ? null : `c${pick(40)}`));
  const moves: FkChange[] = [];
  for (let i = 0; i < 50; i++) {
    const id = `o${pick(120)}`;
    moves.push(order(id, rand() < 0.1 ? null : `c${pick(40)}`));
  }
  const rightUpdates: FkChange[] = [];
  for (let i = 0; i < 20; i++) rightUpdates.push(customer(`c${pick(30)}`, 2 + i));
  for (let i = 30; i < 36; i++) rightUpdates.push(customer(`c${i}`, 1));
  const rightDeletes: FkChange[] = [];
  for (let i = 0; i < 8; i++)
    rightDeletes.push({ table: "customers", key: `c${i * 4}`, value: null });
  const leftDeletes: FkChange[] = [];
  for (let i = 0; i < 25; i++)
    leftDeletes.push({ table: "orders", key: `o${i * 4 + 1}`, value: null });
  // after the deletes: a deleted order comes back, and a deleted customer too
  leftDeletes.push(order("o1", "c1"), customer("c4", 9));
  return [
    { name: "inserts", changes: inserts },
    { name: "left foreign-key changes", changes: moves },
    { name: "right updates and inserts", changes: rightUpdates },
    { name: "right deletes", changes: rightDeletes },
    { name: "left deletes", changes: leftDeletes },
  ];
}

/** The join's result table after `changes`, computed from the final tables alone. */
export function foreignKeyReference(
  changes: readonly FkChange[],
  leftJoin: boolean,
): Map<string, OrderCustomer> {
  const orders = new Map<string, FkOrder>();
  const customers = new Map<string, FkCustomer>();
  for (const c of changes) {
    const table = (c.table === "orders" ? orders : customers) as Map<string, unknown>;
    if (c.value === null) table.delete(c.key);
    else table.set(c.key, c.value);
  }
  const out = new Map<string, OrderCustomer>();
  for (const [id, o] of orders) {
    const c = o.customer === null ? undefined : customers.get(o.customer);
    if (c !== undefined) out.set(id, orderWithCustomer(o, c));
    else if (leftJoin) out.set(id, orderWithCustomer(o, null));
  }
  return out;
}
