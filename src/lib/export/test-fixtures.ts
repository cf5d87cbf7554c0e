/** Synthetic export rows for the export tests: Chinese, hostile text, edge amounts, rates, times. */
import { defineExport } from './spec.ts';

export interface SampleRow {
  seq: number;
  name: string;
  note: string | null;
  amount_fen: number;
  fee_fen: bigint;
  rate_bp: number;
  paid_at: Date;
  period: string;
  quantity: number;
}

export const sampleSpec = defineExport<SampleRow>({
  name: 'sample-lines',
  title: { zh: '佣金明细', en: 'Commission lines' },
  columns: [
    { key: 'seq', header: { zh: '序号', en: 'No.' }, type: 'int' },
    { key: 'name', header: { zh: '分销员', en: 'Distributor' }, type: 'text', width: 28 },
    { key: 'note', header: { zh: '备注', en: 'Note' }, type: 'text' },
    { key: 'amount_fen', header: { zh: '佣金（元）', en: 'Commission (CNY)' }, type: 'fen' },
    { key: 'fee_fen', header: { zh: '手续费（元）', en: 'Fee (CNY)' }, type: 'fen' },
    { key: 'rate_bp', header: { zh: '比例', en: 'Rate' }, type: 'bp' },
    { key: 'paid_at', header: { zh: '支付时间', en: 'Paid at' }, type: 'datetime' },
    { key: 'period', header: { zh: '账期', en: 'Period' }, type: 'date' },
    { key: 'quantity', header: { zh: '数量', en: 'Quantity' }, type: 'int' },
  ],
  totals: ['amount_fen', 'fee_fen', 'quantity'],
});

export const HOSTILE_NAMES = [
  '张三',
  '李四的小店（深圳）',
  '=1+2',
  '@SUM(A1)',
  '<script>alert(1)</script>',
  '+8613800138000',
  '-5',
  '\tindented',
  '\rcarriage',
  'a,b "quoted"',
  ' leading space',
  'two\nlines',
  '=HYPERLINK("http://evil.example","点我")',
  '😀 emoji',
  '王五 & Co. <b>',
];

export const EDGE_FEN = [-12345, 0, 1, 99, 100, 123456789012345, -1, 10, 101, 999999, -100000000];

/** A deterministic pseudo-random sequence (tests must be reproducible). */
function lcg(seed: number) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

const BASE = Date.UTC(2026, 0, 1, 0, 0, 0);

export function sampleRow(i: number, rnd: () => number = lcg(i + 1)): SampleRow {
  const r = rnd();
  const amount = i < EDGE_FEN.length * 3 ? EDGE_FEN[i % EDGE_FEN.length]! : i % 97 === 0 ? 123456789012345 : (r % 2_000_000_000) - 1_000_000_000;
  return {
    seq: i + 1,
    name: i % 3 === 0 ? HOSTILE_NAMES[(i / 3) % HOSTILE_NAMES.length]! : `分销员${i}号`,
    note: i % 5 === 0 ? null : i % 7 === 0 ? "=cmd|' /C calc'!A0" : `订单 ORD-${i}，备注 "${i}"`,
    amount_fen: amount,
    fee_fen: BigInt(rnd() % 100_000) - 20_000n,
    rate_bp: i % 4 === 0 ? [0, 1, 10000, 1234, 9999, 5][i % 6]! : rnd() % 10001,
    // Seconds-precise instants spread over a year, across midnight in Shanghai.
    paid_at: new Date(BASE + ((i * 2_777_777_000) % (365 * 86_400_000)) + (rnd() % 86_400) * 1000),
    period: `2026-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
    quantity: (i % 50) - 10,
  };
}

/** `n` sample rows, generated as they are pulled; `pulled()` says how many so far, `ended` whether `return()` ran. */
export function sampleSource(n: number, options: { onPull?: (i: number) => void } = {}) {
  const state = { pulled: 0, returned: false };
  async function* gen() {
    try {
      for (let i = 0; i < n; i++) {
        state.pulled = i + 1;
        options.onPull?.(i);
        yield sampleRow(i);
      }
    } finally {
      state.returned = true;
    }
  }
  return { rows: gen(), state };
}

export function sampleRows(n: number): SampleRow[] {
  return Array.from({ length: n }, (_, i) => sampleRow(i));
}
