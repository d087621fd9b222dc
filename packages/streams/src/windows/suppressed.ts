/**
 * How suppress() holds back a windowed table's updates. Only untilWindowCloses exists:
 * each window's final result is emitted once, after the window closes (Kafka's
 * Suppressed.untilWindowCloses with an unbounded buffer; the buffer is a change-logged
 * store, so it survives a restart).
 */
export interface Suppressed {
  readonly kind: "until-window-closes";
  /** Names the buffer store (`<applicationId>-<name>-changelog`). */
  readonly name?: string;
}

export function untilWindowCloses(options: { name?: string } = {}): Suppressed {
  return options.name === undefined
    ? { kind: "until-window-closes" }
    : { kind: "until-window-closes", name: options.name };
}
