/** Which unmatched records a join still emits (with a null partner). */
export type JoinType = "inner" | "left" | "outer";

/** Combines a left and a right value; a null side is the unmatched one of left/outer joins. */
export type ValueJoiner<V1, V2, VR> = (left: V1, right: V2) => VR;
