import { Serdes, defineApp } from "@tributary/streams";

export interface Customer {
  id: string;
  name: string;
  tier: "bronze" | "silver" | "gold";
  country: string;
}

export interface Order {
  orderId: string;
  customerId: string;
  amount: number;
}

export interface EnrichedOrder extends Order {
  customerName: string | null;
  tier: Customer["tier"] | null;
  country: string | null;
}

/**
 * Orders enriched with customers, a stream-table join. `customers` is a compacted topic
 * read as a table (latest value per customer id); `orders` are keyed by order id, so
 * they are re-keyed by customer id first, and the compiler routes them through a
 * repartition topic to the task that holds that customer's partition of the table. A
 * left join keeps orders of customers not seen yet (their customer fields are null).
 * The input topics must have equal partition counts (co-partitioned).
 */
export function enrich(order: Order, customer: Customer | null): EnrichedOrder {
  return {
    ...order,
    customerName: customer?.name ?? null,
    tier: customer?.tier ?? null,
    country: customer?.country ?? null,
  };
}

export default defineApp({
  applicationId: "orders-enriched",
  topology: (b) => {
    const str = Serdes.string();
    const customers = b.table<string, Customer>(
      "customers",
      { keySerde: str, valueSerde: Serdes.json<Customer>() },
      { storeName: "customers" },
    );
    b.stream<string, Order>("orders", { keySerde: str, valueSerde: Serdes.json<Order>() })
      .selectKey((_orderId, order) => order.customerId)
      .leftJoin(customers, enrich, {
        name: "by-customer",
        keySerde: str,
        valueSerde: Serdes.json<Order>(),
      })
      .to("orders-enriched", { keySerde: str, valueSerde: Serdes.json<EnrichedOrder>() });
  },
});
