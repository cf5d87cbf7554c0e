import { SignJWT } from 'jose';
import type { ManualClock } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
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
  /** The phone and portal password of the distributor whose sign-in the demo prints. */
  portalPhone: string;
  portalPassword: string;
}

export interface DemoResult {
  tenantId: string;
  /** The merchant's short name, for the console's and the portal's addresses. */
  slug: string;
  /** A distributor who signs in to the portal with `portalPhone` and `portalPassword`. */
  portalDistributor: { id: string; name: string };
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
  // The short name `demo` when it is free (a second demo on the same database gets one of its own).
  const root = { principal: { kind: 'root' as const }, requestId: 'demo' };
  const tenant = await server.services.tenants
    .create(root, { name: o.name, slug: 'demo' })
    .catch((err: unknown) =>
      err instanceof AppError && err.code === 'conflict' ? server.services.tenants.create(root, { name: o.name }) : Promise.reject(err),
    );
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

  // The timeline, as steps each at its own time: distributors join along it (a few leaders in the
  // first days, their recruits over the following weeks, each after its referrer); visitors open
  // invite links, some of them bind as customers, some customers order, and orders are shipped,
  // refunded now and then, and received; a settlement every week.
  type Step = { at: number; run: () => Promise<void> };
  const steps: Step[] = [];
  const end = o.now.getTime();
  const team: { id: string; code: string }[] = [];
  const leaders = Math.max(1, Math.floor(o.distributors / 10));
  const joins: number[] = [];
  for (let i = 0; i < o.distributors; i++) {
    // Leaders join in the shop's first two days; the others over the next seven weeks, more of them later.
    const joinedAt =
      i < leaders
        ? t0 + DAY + Math.floor((i * DAY) / leaders)
        : t0 + 3 * DAY + Math.floor(49 * DAY * Math.sqrt((i - leaders + rnd.next()) / (o.distributors - leaders)));
    joins.push(Math.max(joinedAt, joins.at(-1) ?? joinedAt));
  }
  for (let i = 0; i < o.distributors; i++) {
    const joinedAt = at(joins, i);
    // A referrer among those who joined before (the leaders and the earlier recruits).
    const referrerIndex = i < leaders ? null : rnd.int(Math.max(1, Math.min(i, leaders + Math.floor(i / 2))));
    const name = `${rnd.pick(SURNAMES)}${rnd.pick(GIVEN)}的小店`;
    const region = rnd.pick(REGIONS);
    steps.push({
      at: joinedAt,
      run: async () => {
        const referrer = referrerIndex === null ? undefined : team[referrerIndex];
        const d = await call<{ id: string; invite_code: string }>('POST', '/v1/distributors', {
          external_id: `demo-d${String(i + 1).padStart(3, '0')}`,
          name,
          region_code: region,
          // The first leader has a phone: the portal sign-in the demo prints is theirs.
          ...(i === 0 ? { phone: o.portalPhone } : {}),
          ...(referrer ? { referrer_code: referrer.code } : {}),
        });
        team[i] = { id: d.id, code: d.invite_code };
      },
    });
  }

  // Who a visitor at time `t` came through: a distributor who had joined by then, by how much it
  // promotes (a few are busy, most are quiet: a long tail).
  const promoterAt = (t: number): number => {
    const joined = joins.filter((j) => j <= t).length;
    const weights = Array.from({ length: joined }, (_, k) => 1 / (1 + ((k * 7) % 9)) ** 1.5);
    let r = rnd.next() * weights.reduce((a, b) => a + b, 0);
    for (let k = 0; k < joined; k++) {
      r -= at(weights, k);
      if (r <= 0) return k;
    }
    return joined - 1;
  };

  // Customers: each came through an invite link after some visits; about one visitor in four binds.
  const customerCount = Math.max(10, Math.floor(o.orders / 3));
  const customers: { external: string; boundAt: number }[] = [];
  const firstVisit = t0 + 3 * DAY;
  for (let i = 0; i < customerCount; i++) {
    const boundAt = firstVisit + Math.floor((end - 2 * DAY - firstVisit) * Math.sqrt((i + rnd.next()) / customerCount));
    const k = promoterAt(boundAt);
    const external = `demo-c${String(i + 1).padStart(4, '0')}`;
    customers.push({ external, boundAt });
    // Visitors who looked and left, then the one who bound.
    const visits = 2 + rnd.int(5);
    for (let v = 0; v < visits; v++) {
      steps.push({
        at: boundAt - (visits - v) * (1 + rnd.int(3 * 3_600_000)),
        run: async () => {
          const d = team[k];
          if (!d) return;
          await server.app.inject({
            method: 'GET',
            url: `/i/${d.code}`,
            headers: { 'user-agent': 'Mozilla/5.0 (iPhone) MicroMessenger demo', referer: 'https://weixin.qq.com/' },
          });
        },
      });
    }
    steps.push({
      at: boundAt,
      run: async () => {
        const d = team[k];
        if (d) await call('POST', '/v1/bindings', { customer_external_id: external, invite_code: d.code });
      },
    });
  }

  // Orders: about two customers in three buy, some of them again; never before they were bound.
  const buyers = customers.filter(() => rnd.next() < 0.65);
  if (buyers.length === 0) buyers.push(at(customers, 0));
  for (let i = 0; i < o.orders; i++) {
    const buyer = rnd.pick(buyers);
    const paidAt = Math.min(end - 1000, buyer.boundAt + 3_600_000 + Math.floor((end - buyer.boundAt) * rnd.next() ** 2));
    const items = Array.from({ length: 1 + rnd.int(2) }, () => {
      const p = rnd.pick(PRODUCTS);
      const quantity = 1 + rnd.int(3);
      return { sku: p.sku, quantity, unit_price_fen: p.price, paid_fen: p.price * quantity - (rnd.next() < 0.3 ? 1000 : 0) };
    });
    const paid = items.reduce((sum, it) => sum + it.paid_fen, 0);
    const id = `demo-o${String(i + 1).padStart(5, '0')}`;
    const refund = rnd.next() < 0.08 ? (rnd.next() < 0.5 ? paid : Math.floor(paid / 2)) : 0;
    steps.push({
      at: paidAt,
      run: async () => {
        await call('POST', '/v1/orders', { external_id: id, buyer_external_id: buyer.external, items, shipping_fen: 1000 });
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

  // The first leader signs in to the portal with a password, set as a distributor sets its own:
  // the merchant's backend mints a login token (the portal signing secret), the portal redeems it,
  // and the session sets the password.
  const leader = at(team, 0);
  const { secret } = await call<{ secret: string }>('POST', '/v1/portal/signing-secret');
  const nowSeconds = Math.floor(o.now.getTime() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('demo-d001')
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + 300)
    .setJti(`demo-${tenant.id}`)
    .sign(new TextEncoder().encode(secret));
  const session = await call<{ token: string }>('POST', '/v1/portal/token-login', { tenant_id: tenant.id, token });
  const setPassword = await server.app.inject({
    method: 'POST',
    url: '/v1/portal/password',
    headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ password: o.portalPassword }),
  });
  if (setPassword.statusCode !== 200) throw new Error(`the demo distributor's portal password was refused: ${setPassword.body.slice(0, 300)}`);
  const leaderView = await call<{ name: string }>('GET', `/v1/distributors/${leader.id}`);

  return {
    tenantId: tenant.id,
    slug: tenant.slug,
    apiKey: key,
    portalDistributor: { id: leader.id, name: leaderView.name },
    distributors: team.length,
    orders: o.orders,
    statements,
    withdrawals,
  };
}
