import { Serdes, TimeWindows, defineApp, untilWindowCloses } from "@tributary/streams";

export interface PageView {
  user: string;
  page: string;
}

/** One user's views in one minute, emitted once, when the minute has closed. */
export interface UserMinute {
  user: string;
  start: string;
  end: string;
  views: number;
}

export const WINDOW_MS = 60_000;
export const GRACE_MS = 10_000;

/**
 * Page views per user per minute, by event time. Views are keyed by user, so no
 * repartition is needed: each task counts the users of its partition in a window store.
 * A view up to 10 s late still counts in its minute; a view later than that is dropped
 * (and counted as dropped). `suppress(untilWindowCloses())` holds the running counts
 * back and emits one final count per user and minute once the window has closed.
 */
export default defineApp({
  applicationId: "page-views",
  topology: (b) => {
    const str = Serdes.string();
    b.stream<string, PageView>("page-views", { keySerde: str, valueSerde: Serdes.json<PageView>() })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, GRACE_MS))
      .count({ storeName: "views-per-minute" })
      .suppress(untilWindowCloses())
      .toStream()
      .map((w, views) => {
        const start = new Date(w.window.start).toISOString();
        const minute: UserMinute = {
          user: w.key,
          start,
          end: new Date(w.window.end).toISOString(),
          views: views ?? 0,
        };
        return [`${w.key}@${start}` as string, minute] as const;
      })
      .to("user-minutes", { keySerde: str, valueSerde: Serdes.json<UserMinute>() });
  },
});
