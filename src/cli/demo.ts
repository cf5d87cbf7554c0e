import type { ManualClock } from '../core/context.ts';
import type { Server } from '../app/server.ts';
import type { Progress } from './progress.ts';

/**
 * `fenxiao demo`: a merchant with a program, grades, a three-level team, customers, sixty days of
 * orders (shipped, received, some refunded), invite-link visits, a settlement run and paid
 * withdrawals, so the console and the portal have something to show. Everything goes through the
 * HTTP API in-process (app.inject), as a merchant's backend would send it: the same validation,
 * the same journals, the same rollups. Deterministic for a given seed.
 */
export interface DemoOptions {
  name: string;
  email: string;
  password: string;
  distributors: number;
  orders: number;
  seed: number;
  now: Date;
}

export interface DemoResult {
  tenantId: string;
  apiKey: string;
  distributors: number;
  orders: number;
  statements: number;
  withdrawals: number;
}

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林', '罗', '高'];
const GIVEN = ['小明', '晓燕', '建国', '丽娜', '志强', '秀英', '海涛', '静', '伟', '芳', '磊', '婷', '军', '洋', '勇', '艳', '杰', '娟', '涛', '敏'];
const REGIONS = ['440300', '440100', '310100', '110100', '330100', '320500', '510100', '420100', '370200', '350200'];
const PRODUCTS = [
  { sku: 'TEA-LJ-250', price: 12800 },
  { sku: 'TEA-PE-357', price: 29800 },
  { sku: 'CUP-CERAMIC', price: 6800 },
  { sku: 'HONEY-500', price: 8800 },
  { sku: 'GIFT-BOX', price: 49900 },
  { sku: 'SNACK-MIX', price: 3900 },
];

/** A small deterministic generator (mulberry32): the same seed, the same demo. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => at(xs, Math.floor(next() * xs.length)) };
}

function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`demo: no element ${i} in a list of ${xs.length}`);
  return x;
}

export async function seedDemo(server: Server, clock: ManualClock, o: DemoOptions, progress: (label: string, total: number) => Progress): Promise<DemoResult> {
  const rnd = random(o.seed);
  const DAY = 86_400_000;
  // The shop opened 62 days ago: the program, its grades and rule versions date from then, the
  // team joined over the next ten days, customers came through invite links after, and orders
  // run over the last 45 days, each event at its own time, with a settlement every week.
  const t0 = o.now.getTime() - 62 * DAY;
  clock.set(new Date(t0));
  const tenant = await server.services.tenants.create({ principal: { kind: 'root' }, requestId: 'demo' }, { name: o.name });
  const key = tenant.api_key;
  async function call<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const res = await server.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
    return (res.body ? JSON.parse(res.body) : {}) as T;
  }

  await server.services.admin.createUser(
    { principal: { kind: 'root' }, requestId: 'demo' },
    { email: o.email, password: o.password, role: 'owner', name: '店长' },
    tenant.id,
  );
  await call('PUT', '/v1/program', {
    levels: 2,
    freeze_days: 7,
    auto_receive_days: 10,
    review_threshold_fen: 500_000,
    withdrawal: { min_fen: 100, fee_bp: 0, auto_approve_max_fen: 0 },
  });
  await call('PUT', '/v1/grades/default', { name: '普通分销员', rank: 0, sales_bp: 500, override_bp: [1000, 500] });
  await call('PUT', '/v1/grades/silver', {
    name: '银牌',
    rank: 1,
    sales_bp: 800,
    override_bp: [1200, 600],
    upgrade: { metric: 'sales_fen', min_fen: 300_000 },
  });
  await call('PUT', '/v1/grades/gold', {
    name: '金牌',
    rank: 2,
    sales_bp: 1000,
    override_bp: [1500, 800],
    upgrade: { metric: 'sales_fen', min_fen: 1_000_000 },
  });

  // The team: a few leaders, each recruited distributors, and theirs.
  const team: { id: string; code: string }[] = [];
  const p1 = progress('distributors', o.distributors);
  for (let i = 0; i < o.distributors; i++) {
    clock.set(new Date(t0 + DAY + Math.floor((i * 10 * DAY) / o.distributors)));
    const referrer = i < Math.max(1, Math.floor(o.distributors / 10)) ? null : at(team, rnd.int(Math.min(team.length, Math.max(1, Math.floor(i / 2)))));
    const d = await call<{ id: string; invite_code: string }>('POST', '/v1/distributors', {
      external_id: `demo-d${String(i + 1).padStart(3, '0')}`,
      name: `${rnd.pick(SURNAMES)}${rnd.pick(GIVEN)}的小店`,
      region_code: rnd.pick(REGIONS),
      ...(referrer ? { referrer_code: referrer.code } : {}),
    });
    team.push({ id: d.id, code: d.invite_code });
    p1.update(i + 1);
  }
  p1.done();

  // Visits to invite links, and customers bound through them.
  const customers: string[] = [];
  const customerCount = Math.max(10, Math.floor(o.orders / 3));
  const p2 = progress('visits and customers', customerCount);
  for (let i = 0; i < customerCount; i++) {
    clock.set(new Date(t0 + 11 * DAY + Math.floor((i * 6 * DAY) / customerCount)));
    const d = rnd.pick(team);
    for (let v = 0; v < 1 + rnd.int(3); v++) {
      await server.app.inject({
        method: 'GET',
        url: `/i/${d.code}`,
        headers: { 'user-agent': 'Mozilla/5.0 (iPhone) demo', referer: 'https://weixin.qq.com/' },
      });
    }
    const external = `demo-c${String(i + 1).padStart(4, '0')}`;
    await call('POST', '/v1/bindings', { customer_external_id: external, invite_code: d.code });
    customers.push(external);
    p2.update(i + 1);
  }
  p2.done();

  // The timeline: each order's payment, shipping, a refund now and then, receipt; weekly settlements.
  type Step = { at: number; run: () => Promise<void> };
  const steps: Step[] = [];
  const end = o.now.getTime();
  for (let i = 0; i < o.orders; i++) {
    const paidAt = end - Math.floor(45 * DAY * (1 - Math.sqrt(rnd.next()))) - rnd.int(DAY);
    const items = Array.from({ length: 1 + rnd.int(2) }, () => {
      const p = rnd.pick(PRODUCTS);
      const quantity = 1 + rnd.int(3);
      return { sku: p.sku, quantity, unit_price_fen: p.price, paid_fen: p.price * quantity - (rnd.next() < 0.3 ? 1000 : 0) };
    });
    const paid = items.reduce((sum, it) => sum + it.paid_fen, 0);
    const id = `demo-o${String(i + 1).padStart(5, '0')}`;
    const buyer = rnd.pick(customers);
    const refund = rnd.next() < 0.08 ? (rnd.next() < 0.5 ? paid : Math.floor(paid / 2)) : 0;
    steps.push({
      at: paidAt,
      run: async () => {
        await call('POST', '/v1/orders', { external_id: id, buyer_external_id: buyer, items, shipping_fen: 1000 });
      },
    });
    const shipAt = paidAt + DAY + rnd.int(DAY);
    if (shipAt < end)
      steps.push({
        at: shipAt,
        run: async () => {
          await call('POST', `/v1/orders/${id}/events`, { type: 'shipped' });
        },
      });
    const refundAt = shipAt + DAY;
    if (refund > 0 && refundAt < end)
      steps.push({
        at: refundAt,
        run: async () => {
          await call('POST', `/v1/orders/${id}/events`, { type: 'refunded', refund_fen: refund });
        },
      });
    const receiveAt = shipAt + 2 * DAY + rnd.int(2 * DAY);
    if (receiveAt < end && refund < paid)
      steps.push({
        at: receiveAt,
        run: async () => {
          await call('POST', `/v1/orders/${id}/events`, { type: 'received' });
        },
      });
  }
  let statements = 0;
  let withdrawals = 0;
  for (let at = t0 + 21 * DAY; at < end; at += 7 * DAY) {
    const last = at + 7 * DAY >= end;
    steps.push({
      at,
      run: async () => {
        const run = await call<{ statements: { id: string; distributor_id: string; amount_fen: number; status: string }[] }>('POST', '/v1/settlements/run', {
          as_of: new Date(at).toISOString(),
        });
        statements += run.statements.length;
        for (const st of run.statements.filter((x) => x.status === 'pending_review')) await call('POST', `/v1/statements/${st.id}/approve`);
        // The best earners of the week ask for half; most are paid, the last week's wait for review.
        for (const st of [...run.statements].sort((a, b) => b.amount_fen - a.amount_fen).slice(0, 2)) {
          const amount = Math.floor(st.amount_fen / 2);
          if (amount < 100) continue;
          const w = await call<{ id: string }>(
            'POST',
            '/v1/withdrawals',
            { distributor_id: st.distributor_id, amount_fen: amount, channel: 'manual' },
            { 'idempotency-key': `demo-w-${st.id}` },
          );
          withdrawals += 1;
          if (last) continue;
          await call('POST', `/v1/withdrawals/${w.id}/approve`);
          await call('POST', `/v1/withdrawals/${w.id}/complete`, { reference: `DEMO-BANK-${String(withdrawals).padStart(4, '0')}` });
        }
      },
    });
  }
  steps.sort((a, b) => a.at - b.at);
  const p3 = progress('orders and events', steps.length);
  for (const [i, step] of steps.entries()) {
    clock.set(new Date(step.at));
    await step.run();
    p3.update(i + 1);
  }
  p3.done();
  clock.set(o.now);
  return { tenantId: tenant.id, apiKey: key, distributors: team.length, orders: o.orders, statements, withdrawals };
}
