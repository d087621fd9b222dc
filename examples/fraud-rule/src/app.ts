import { JoinWindows, Serdes, defineApp } from "@tributary/streams";

export interface Login {
  user: string;
  country: string;
}

export interface Payment {
  paymentId: string;
  user: string;
  amount: number;
  country: string;
}

export interface FraudAlert extends Payment {
  loginCountry: string;
  reason: string;
}

export const WITHIN_MS = 5 * 60_000;

/**
 * A fraud rule over a stream-stream join: a payment made from another country than a
 * login of the same user within 5 minutes of it (before or after) raises an alert. Both
 * topics are keyed by user and co-partitioned, so a task holds both sides of its users
 * in two window stores; the join pairs each payment with every login of the user whose
 * event time is within 5 minutes, whichever arrives first. Grace 1 minute: records up to
 * a minute late still match.
 */
export default defineApp({
  applicationId: "fraud-rule",
  topology: (b) => {
    const str = Serdes.string();
    const logins = b.stream<string, Login>("logins", {
      keySerde: str,
      valueSerde: Serdes.json<Login>(),
    });
    b.stream<string, Payment>("payments", { keySerde: str, valueSerde: Serdes.json<Payment>() })
      .join(
        logins,
        (payment, login): FraudAlert => ({
          ...payment,
          loginCountry: login.country,
          reason: `paid from ${payment.country} within 5 minutes of a login from ${login.country}`,
        }),
        JoinWindows.ofTimeDifferenceAndGrace(WITHIN_MS, 60_000),
        {
          name: "payment-login",
          keySerde: str,
          valueSerde: Serdes.json<Payment>(),
          otherValueSerde: Serdes.json<Login>(),
        },
      )
      .filter((_user, alert) => alert.country !== alert.loginCountry)
      .to("fraud-alerts", { keySerde: str, valueSerde: Serdes.json<FraudAlert>() });
  },
});
