/**
 * The arithmetic of agents' stock, with no I/O: taking units from purchase lots oldest first
 * (FIFO), the price difference an agent earns on a sale from its stock, and what a refund leaves
 * of it. Integer fen throughout.
 */

/** A purchase lot as the stock path sees it: what each unit cost and how many are still held. */
export interface Lot {
  id: string;
  sku: string;
  unit_cost_fen: number;
  remaining: number;
  acquired_at: Date;
}

/** Units taken from one lot. */
export interface Take {
  lotId: string;
  quantity: number;
  unitCostFen: number;
}

/** Oldest first, then by id: the order units leave an agent's stock in. */
export function fifoOrder(a: Lot, b: Lot): number {
  const t = a.acquired_at.getTime() - b.acquired_at.getTime();
  return t !== 0 ? t : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Takes `quantity` units from `lots` (already in FIFO order), oldest first. Answers the takes and
 * lowers each lot's `remaining`; answers null and changes nothing when the lots hold fewer units.
 */
export function takeFifo(lots: Lot[], quantity: number): Take[] | null {
  let held = 0;
  for (const l of lots) held += l.remaining;
  if (quantity <= 0 || held < quantity) return null;
  const takes: Take[] = [];
  let left = quantity;
  for (const l of lots) {
    if (left === 0) break;
    const q = Math.min(l.remaining, left);
    if (q === 0) continue;
    l.remaining -= q;
    left -= q;
    takes.push({ lotId: l.id, quantity: q, unitCostFen: l.unit_cost_fen });
  }
  return takes;
}

/** What the units of some takes cost the agent. */
export function costOf(takes: readonly { quantity: number; unitCostFen: number }[]): number {
  return takes.reduce((s, t) => s + t.quantity * t.unitCostFen, 0);
}

/** The price difference of a line sold from stock: what the buyer paid less what the units cost, none when not positive. */
export function priceDifference(paidFen: number, costFen: number): number {
  return Math.max(0, paidFen - costFen);
}

/**
 * A price-difference line after a refund: what the line still paid less what its units still sold
 * cost; never more than the line was (a refund never raises a commission), never below 0.
 */
export function recomputePriceDifference(line: { currentFen: number }, item: { remainingFen: number; remainingCostFen: number; remainingUnits: number }) {
  return {
    baseFen: item.remainingFen,
    units: item.remainingUnits,
    amountFen: Math.min(line.currentFen, priceDifference(item.remainingFen, item.remainingCostFen)),
  };
}

/** A territory line: floor(paid × bp / 10000) per item line. */
export function territoryAmount(paidFen: number, bp: number): number {
  return Number((BigInt(paidFen) * BigInt(bp)) / 10000n);
}

/**
 * Units going back into the lots a sale took them from, the lot taken last first. `sold` is what
 * the sale still holds per lot (units sold less units already returned).
 */
export function returnToLots(sold: readonly { lotId: string; quantity: number; unitCostFen: number; acquiredAt: Date }[], quantity: number): Take[] | null {
  const held = sold.reduce((s, l) => s + l.quantity, 0);
  if (quantity <= 0 || held < quantity) return null;
  const order = [...sold].sort((a, b) => b.acquiredAt.getTime() - a.acquiredAt.getTime() || (a.lotId < b.lotId ? 1 : a.lotId > b.lotId ? -1 : 0));
  const out: Take[] = [];
  let left = quantity;
  for (const l of order) {
    if (left === 0) break;
    const q = Math.min(l.quantity, left);
    if (q === 0) continue;
    left -= q;
    out.push({ lotId: l.lotId, quantity: q, unitCostFen: l.unitCostFen });
  }
  return out;
}
