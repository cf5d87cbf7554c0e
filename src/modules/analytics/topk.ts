/**
 * Top-k over a sum of ranked lists (a distributor's total over a range is the sum of its rows in
 * the range's months and loose days, and each period's rows come ranked from an index), read a
 * little of each list at a time: the threshold algorithm (Fagin, Lotem, Naor) with the bounds of
 * its no-random-access variant to decide whose exact totals are worth looking up. No I/O here.
 */

export interface RankedRow {
  list: string;
  distributor_id: string;
  value: number;
}

export interface Round {
  /** What anyone not yet read can at most total: the sum of each unfinished list's last value. */
  threshold: number;
  /** Every list was read to its end: all who have a value in the range have been seen. */
  exhausted: boolean;
  /**
   * The candidates that may still be in the top k: those whose best possible total (what was
   * read of them, plus each other unfinished list's last value) reaches the k-th best of what was
   * read. Everyone else is out whatever their unread values are.
   */
  contenders: string[];
}

/** One round: the first `depth` rows of each list (in list order, best first). */
export function round(rows: readonly RankedRow[], depth: number, k: number): Round {
  const lists = new Map<string, { n: number; last: number }>();
  const seen = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const l = lists.get(r.list) ?? { n: 0, last: 0 };
    l.n += 1;
    l.last = r.value;
    lists.set(r.list, l);
    let s = seen.get(r.distributor_id);
    if (!s) seen.set(r.distributor_id, (s = new Map()));
    s.set(r.list, r.value);
  }
  // A list read to its end (fewer rows than asked) holds nothing more: 0 for whoever is not in it.
  const frontier = new Map<string, number>();
  let threshold = 0;
  for (const [name, l] of lists) {
    const f = l.n >= depth ? l.last : 0;
    frontier.set(name, f);
    threshold += f;
  }
  const bounds = [...seen.entries()].map(([id, values]) => {
    let lower = 0;
    let unreadFrontier = threshold;
    for (const [list, v] of values) {
      lower += v;
      unreadFrontier -= frontier.get(list) ?? 0;
    }
    return { id, lower, upper: lower + unreadFrontier };
  });
  const lowers = bounds.map((b) => b.lower).sort((a, b) => b - a);
  const kthLower = lowers[k - 1] ?? 0;
  return {
    threshold,
    exhausted: [...lists.values()].every((l) => l.n < depth),
    contenders: bounds.filter((b) => b.upper >= kthLower && b.upper > 0).map((b) => b.id),
  };
}

/**
 * The stopping rule: the contenders' exact totals (sorted, best first) are final once the k-th
 * is above anything unread can total, or nobody unread can total above zero, or every list has
 * been read to its end.
 */
export function thresholdReached(sortedTotals: readonly number[], k: number, threshold: number, exhausted: boolean): boolean {
  if (exhausted || threshold <= 0) return true;
  const kth = sortedTotals[k - 1];
  return kth !== undefined && kth > threshold;
}
