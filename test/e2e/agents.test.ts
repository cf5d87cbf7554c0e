import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { download } from '../support/reconciliation.ts';
import { parseCsv } from '../../src/lib/export/testing.ts';

let t: TestServer;
const clock = new ManualClock('2026-03-01T08:00:00Z');
beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

type Line = {
  id: string;
  kind: string;
  rank?: string;
  beneficiary_id: string;
  level: number;
  base_fen: number;
  rate_bp: number;
  amount_fen: number;
  status: string;
};

/** A tenant with the agent program on (province 1%, city 2%, district 3%) and a helper per call. */
async function setup(program: Record<string, unknown> = { enabled: true, territory_bp: { province: 100, city: 200, district: 300 } }) {
  const { key, id: tenantId } = await t.tenant();
  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    t.call(method, url, { token: key, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  await call('PUT', '/v1/program', { levels: 1, freeze_days: 7 });
  if (Object.keys(program).length > 0) expect((await call('PUT', '/v1/agent-program', program)).statusCode).toBe(200);
  let n = 0;
  const distributor = async () => {
    n += 1;
    const r = await call('POST', '/v1/distributors', { external_id: `d-${n}`, name: `D${n}` });
    expect(r.statusCode).toBe(201);
    return r.data as { id: string; invite_code: string };
  };
  const agent = async (rank: string, region_code: string) => {
    const d = await distributor();
    const r = await call('POST', '/v1/agents', { distributor_id: d.id, rank, region_code });
    expect(r.statusCode).toBe(201);
    return r.data as { id: string; distributor_id: string; region_name: string };
  };
  const order = (external_id: string, body: Record<string, unknown> = {}, items = [{ sku: 'tea', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }]) =>
    call('POST', '/v1/orders', { external_id, buyer_external_id: `buyer-${external_id}`, items, ...body });
  const verify = async () => (await call('GET', '/v1/ledger/verify')).data.breaks;
  const inventory = async (agentId: string) => (await call('GET', `/v1/agents/${agentId}/inventory`)).data.items as { sku: string; quantity: number }[];
  const territory = (lines: Line[]) =>
    lines
      .filter((l) => l.kind === 'territory')
      .map((l) => ({ rank: l.rank, beneficiary_id: l.beneficiary_id, amount_fen: l.amount_fen, status: l.status, level: l.level }))
      .sort((a, b) => (a.rank ?? '').localeCompare(b.rank ?? ''));
  return { key, tenantId, call, distributor, agent, order, verify, inventory, territory };
}

/** A tenant with a tea price list, a city agent holding `units` units bought at the city price (6000). */
async function stocked(units: number) {
  const s = await setup();
  expect((await s.call('PUT', '/v1/agent-prices/tea', { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 })).statusCode).toBe(200);
  const a = await s.agent('city', '440300');
  const po = await s.call('POST', '/v1/purchase-orders', { agent_id: a.id, items: [{ sku: 'tea', quantity: units }] }, { 'idempotency-key': `po-${a.id}` });
  expect(po.statusCode).toBe(201);
  expect((await s.call('POST', `/v1/purchase-orders/${po.data.id}/pay`, { reference: 'bank-1' })).statusCode).toBe(200);
  return { ...s, a, po: po.data };
}

describe('agent program', () => {
  it('has the contract defaults, merges a partial update and refuses buyback_days below 30 (422) and bad input (400) without changing anything', async () => {
    const { call } = await setup({});
    expect((await call('GET', '/v1/agent-program')).data).toEqual({ enabled: false, territory_bp: { province: 0, city: 0, district: 0 }, buyback_days: 30 });
    const put = await call('PUT', '/v1/agent-program', { enabled: true, territory_bp: { city: 150 } });
    expect(put.statusCode).toBe(200);
    expect(put.data).toEqual({ enabled: true, territory_bp: { province: 0, city: 150, district: 0 }, buyback_days: 30 });
    expect((await call('PUT', '/v1/agent-program', { territory_bp: { district: 250 }, buyback_days: 45 })).data).toEqual({
      enabled: true,
      territory_bp: { province: 0, city: 150, district: 250 },
      buyback_days: 45,
    });
    const short = await call('PUT', '/v1/agent-program', { buyback_days: 29, enabled: false });
    expect(short.statusCode).toBe(422);
    expect(short.data.error.code).toBe('compliance_violation');
    for (const bad of [
      { buyback_days: -1 },
      { territory_bp: { city: 10001 } },
      { territory_bp: { town: 1 } },
      { enabled: 'yes' },
      { levels: 2 },
      { buyback_days: 30.5 },
    ]) {
      const r = await call('PUT', '/v1/agent-program', bad);
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
      expect(r.data.error.code).toBe('invalid_request');
    }
    expect((await call('GET', '/v1/agent-program')).data).toEqual({ enabled: true, territory_bp: { province: 0, city: 150, district: 250 }, buyback_days: 45 });
    // The compliance report states the agent settings.
    const report = (await call('GET', '/v1/compliance/report')).data;
    const finding = report.rules.find((r: { rule: string }) => r.rule === 'agent_stock_buyback');
    expect(finding).toMatchObject({ status: 'compliant', setting: { enabled: true, buyback_days: 45, purchase_required_to_join: false, territory_level: 0 } });
  });
});

describe('agents', () => {
  it('appoints an agent of a real territory of its rank, names it, and allows one active agent per territory', async () => {
    const { call, distributor } = await setup();
    const d = await distributor();
    const r = await call('POST', '/v1/agents', { distributor_id: d.id, rank: 'district', region_code: '110105' });
    expect(r.statusCode).toBe(201);
    expect(r.data).toMatchObject({
      distributor_id: d.id,
      rank: 'district',
      region_code: '110105',
      region_name: '朝阳区',
      region_full_name: '北京市朝阳区',
      status: 'active',
    });
    expect(r.data.id).toEqual(expect.any(String));
    expect((await call('GET', `/v1/agents/${r.data.id}`)).data).toMatchObject({ id: r.data.id, region_name: '朝阳区', status: 'active' });
    // A municipality's city is named as the municipality.
    const city = await call('POST', '/v1/agents', { distributor_id: d.id, rank: 'city', region_code: '110100' });
    expect(city.statusCode).toBe(201);
    expect(city.data.region_name).toBe('北京市');
    const province = await call('POST', '/v1/agents', { distributor_id: d.id, rank: 'province', region_code: '440000' });
    expect(province.data.region_name).toBe('广东省');
    // A second active agent of the same territory: 409, nothing written.
    const other = await distributor();
    const second = await call('POST', '/v1/agents', { distributor_id: other.id, rank: 'district', region_code: '110105' });
    expect(second.statusCode).toBe(409);
    expect(second.data.error.code).toBe('conflict');
    expect((await call('GET', `/v1/agents?distributor_id=${other.id}`)).data.items).toEqual([]);
    // Another tenant's agent is not found.
    const stranger = await t.tenant();
    expect((await t.call('GET', `/v1/agents/${r.data.id}`, { token: stranger.key })).statusCode).toBe(404);
  });

  it('refuses unknown and wrong-rank codes, an unknown distributor and malformed bodies with 400, writing nothing', async () => {
    const { call, distributor } = await setup();
    const d = await distributor();
    for (const body of [
      { distributor_id: d.id, rank: 'district', region_code: '110100' },
      { distributor_id: d.id, rank: 'city', region_code: '110105' },
      { distributor_id: d.id, rank: 'province', region_code: '110100' },
      { distributor_id: d.id, rank: 'district', region_code: '999999' },
      { distributor_id: d.id, rank: 'city', region_code: '449900' },
      { distributor_id: d.id, rank: 'district', region_code: '11010' },
      { distributor_id: d.id, rank: 'town', region_code: '110105' },
      { distributor_id: d.id, rank: 'district', region_code: 110105 },
      { distributor_id: 'dst_nobody', rank: 'district', region_code: '110105' },
      { distributor_id: d.id, rank: 'district', region_code: '110105', extra: 1 },
      { rank: 'district', region_code: '110105' },
    ]) {
      const r = await call('POST', '/v1/agents', body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.data.error.code).toBe('invalid_request');
    }
    expect((await call('GET', '/v1/agents')).data.items).toEqual([]);
  });

  it('suspends with a reason (the territory then earns nothing and takes a new agent), reinstates, transfers, and keeps the history', async () => {
    const { call, agent, distributor, order, territory } = await setup();
    const a = await agent('district', '440305');
    expect((await call('POST', `/v1/agents/${a.id}/suspend`, {})).statusCode).toBe(400);
    const s = await call('POST', `/v1/agents/${a.id}/suspend`, { reason: '违规跨区销售' });
    expect(s.statusCode).toBe(200);
    expect(s.data).toMatchObject({ status: 'suspended', status_reason: '违规跨区销售' });
    const o = await order('sus-1', { region_code: '440305' });
    expect(territory(o.data.commissions)).toEqual([]);
    expect((await call('POST', `/v1/agents/${a.id}/suspend`, { reason: 'again' })).statusCode).toBe(409);
    expect((await call('POST', `/v1/agents/${a.id}/reinstate`, { reason: '整改完成' })).data.status).toBe('active');
    const d2 = await distributor();
    const moved = await call('POST', `/v1/agents/${a.id}/transfer`, { distributor_id: d2.id, reason: '区域调整' });
    expect(moved.statusCode).toBe(200);
    expect(moved.data).toMatchObject({ distributor_id: d2.id, region_code: '440305', status: 'active' });
    expect((await call('GET', `/v1/agents/${a.id}`)).data.status).toBe('ended');
    const history = (await call('GET', `/v1/agents/${a.id}/events`)).data.items.map((e: { type: string; reason: string | null }) => [e.type, e.reason]);
    expect(history).toEqual([
      ['appointed', null],
      ['suspended', '违规跨区销售'],
      ['reinstated', '整改完成'],
      ['transferred', '区域调整'],
    ]);
  });
});

describe('territory commission', () => {
  it('credits the district, city and province agents of an order in a district, each at its rank rate, floor per item', async () => {
    const { key, call, agent, order, verify } = await setup();
    const dA = await agent('district', '440305');
    const cA = await agent('city', '440300');
    const pA = await agent('province', '440000');
    const o = await order('d-1', { region_code: '440305' }, [
      { sku: 'tea', quantity: 1, unit_price_fen: 10099, paid_fen: 10099 },
      { sku: 'cup', quantity: 2, unit_price_fen: 333, paid_fen: 666 },
    ]);
    expect(o.statusCode).toBe(201);
    const lines = o.data.commissions as Line[];
    const tl = lines.filter((l) => l.kind === 'territory');
    // 10099 × 3% = 302.97 → 302; 666 × 3% → 19; 10099 × 2% → 201; 666 × 2% → 13; 10099 × 1% → 100; 666 × 1% → 6.
    expect(tl.map((l) => [l.rank, l.beneficiary_id, l.base_fen, l.rate_bp, l.amount_fen, l.level, l.status]).sort()).toEqual(
      [
        ['city', cA.distributor_id, 10099, 200, 201, 0, 'pending'],
        ['city', cA.distributor_id, 666, 200, 13, 0, 'pending'],
        ['district', dA.distributor_id, 10099, 300, 302, 0, 'pending'],
        ['district', dA.distributor_id, 666, 300, 19, 0, 'pending'],
        ['province', pA.distributor_id, 10099, 100, 100, 0, 'pending'],
        ['province', pA.distributor_id, 666, 100, 6, 0, 'pending'],
      ].sort(),
    );
    const got = (await call('GET', '/v1/orders/d-1')).data;
    expect(got.commissions.filter((l: Line) => l.kind === 'territory')).toHaveLength(6);
    // The region shows by its name wherever it shows: the order, a distributor.
    expect([o.data.region_code, o.data.region_name, got.region_name]).toEqual(['440305', '广东省深圳市南山区', '广东省深圳市南山区']);
    const withRegion = await call('POST', '/v1/distributors', { external_id: 'regional', name: 'R', region_code: '110105' });
    expect(withRegion.data.region_name).toBe('北京市朝阳区');
    expect((await call('GET', `/v1/distributors/${dA.distributor_id}/balance`)).data.pending_fen).toBe(321);
    // Explained in words: which territory and rate.
    const line = tl.find((l) => l.rank === 'district');
    const explained = (await call('GET', `/v1/commissions/${line?.id}`)).data;
    expect(explained.kind).toBe('territory');
    expect(explained.explanation.territory).toMatchObject({ rank: 'district', region_code: '440305', region_name: '广东省深圳市南山区', rate_bp: 300 });
    expect(explained.explanation.level_meaning).toContain('district agent of 广东省深圳市南山区');
    // The export of commission lines says what each line is and where the order shipped.
    const csv = parseCsv((await download(t, '/v1/exports/commissions.csv', key)).text);
    const header = csv.rows[0] ?? [];
    const rows = csv.rows.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
    const districtRows = rows.filter((r) => r['代理级别'] === 'district');
    expect(districtRows).toHaveLength(2);
    expect(districtRows.map((r) => [r['类型'], r['收货地区']])).toEqual([
      ['territory', '广东省深圳市南山区'],
      ['territory', '广东省深圳市南山区'],
    ]);
    expect(await verify()).toEqual([]);
  });

  it('in a city without a district agent credits the city and province agents only; a municipality has its three ranks', async () => {
    const { agent, order, territory, verify } = await setup();
    const cA = await agent('city', '440300');
    const pA = await agent('province', '440000');
    await agent('district', '440305');
    const o = await order('c-1', { region_code: '440306' });
    expect(territory(o.data.commissions)).toEqual([
      { rank: 'city', beneficiary_id: cA.distributor_id, amount_fen: 200, status: 'pending', level: 0 },
      { rank: 'province', beneficiary_id: pA.distributor_id, amount_fen: 100, status: 'pending', level: 0 },
    ]);
    const bd = await agent('district', '110105');
    const bc = await agent('city', '110100');
    const bp = await agent('province', '110000');
    const m = await order('m-1', { region_code: '110105' });
    expect(territory(m.data.commissions)).toEqual([
      { rank: 'city', beneficiary_id: bc.distributor_id, amount_fen: 200, status: 'pending', level: 0 },
      { rank: 'district', beneficiary_id: bd.distributor_id, amount_fen: 300, status: 'pending', level: 0 },
      { rank: 'province', beneficiary_id: bp.distributor_id, amount_fen: 100, status: 'pending', level: 0 },
    ]);
    // No region code, another province: no territory lines.
    expect(territory((await order('n-1')).data.commissions)).toEqual([]);
    expect(territory((await order('n-2', { region_code: '310101' })).data.commissions)).toEqual([]);
    expect(await verify()).toEqual([]);
  });

  it('credits nothing while the program is off, and sits beside the seller’s own level-0 line', async () => {
    const { call, agent, order, territory, distributor, verify } = await setup({ territory_bp: { district: 300 } });
    const dA = await agent('district', '440305');
    expect(territory((await order('off-1', { region_code: '440305' })).data.commissions)).toEqual([]);
    await call('PUT', '/v1/agent-program', { enabled: true });
    await call('PUT', '/v1/grades/default', { name: 'g', rank: 0, sales_bp: 1000, override_bp: [] });
    // The district agent sells in its own district: its sales line and its territory line, both level 0.
    await call('POST', '/v1/bindings', { customer_external_id: 'buyer-on-1', invite_code: (await distributor()).invite_code });
    const o = await order('on-1', { region_code: '440305' });
    expect(o.data.commissions.map((l: Line) => [l.kind, l.level, l.amount_fen]).sort()).toEqual([
      ['commission', 0, 1000],
      ['territory', 0, 300],
    ]);
    expect(territory(o.data.commissions)[0]?.beneficiary_id).toBe(dA.distributor_id);
    expect(await verify()).toEqual([]);
  });

  it('refunds recompute territory lines like every line; after settlement a refund claws back', async () => {
    const { call, agent, order, territory, verify } = await setup();
    const dA = await agent('district', '110105');
    const cA = await agent('city', '110100');
    await order('r-1', { region_code: '110105' });
    const half = await call('POST', '/v1/orders/r-1/events', { type: 'refunded', refund_fen: 5001 });
    expect(half.statusCode).toBe(200);
    // 4999 left: district floor(4999 × 3%) = 149, city 99.
    expect(territory(half.data.commissions)).toEqual([
      { rank: 'city', beneficiary_id: cA.distributor_id, amount_fen: 99, status: 'pending', level: 0 },
      { rank: 'district', beneficiary_id: dA.distributor_id, amount_fen: 149, status: 'pending', level: 0 },
    ]);
    const all = await call('POST', '/v1/orders/r-1/events', { type: 'refunded', refund_fen: 4999 });
    expect(territory(all.data.commissions).map((l) => [l.amount_fen, l.status])).toEqual([
      [0, 'reversed'],
      [0, 'reversed'],
    ]);
    // Through freeze and settlement, then a refund: a clawback line.
    await order('r-2', { region_code: '110105' });
    await call('POST', '/v1/orders/r-2/events', { type: 'received', at: '2026-03-02T00:00:00Z' });
    const run = await call('POST', '/v1/settlements/run', { as_of: '2026-03-10T00:00:00Z' });
    expect(run.data.statements).toEqual(
      expect.arrayContaining([expect.objectContaining({ distributor_id: dA.distributor_id, amount_fen: 300, status: 'approved' })]),
    );
    const settled = (await call('GET', '/v1/orders/r-2')).data.commissions.filter((l: Line) => l.kind === 'territory');
    expect(settled.map((l: Line) => l.status)).toEqual(['settled', 'settled']);
    const back = await call('POST', '/v1/orders/r-2/events', { type: 'refunded', refund_fen: 10000 });
    const claw = (back.data.commissions as Line[]).filter((l) => l.kind === 'clawback').map((l) => [l.beneficiary_id, l.amount_fen]);
    expect(claw.sort()).toEqual(
      [
        [cA.distributor_id, -200],
        [dA.distributor_id, -300],
      ].sort(),
    );
    expect((await call('GET', `/v1/distributors/${dA.distributor_id}/balance`)).data.withdrawable_fen).toBe(0);
    expect(await verify()).toEqual([]);
  });
});

describe('price lists and purchase orders', () => {
  it('keeps a price list in rank order and refuses one out of order (400) without writing it', async () => {
    const { call } = await setup();
    const ok = await call('PUT', '/v1/agent-prices/tea', { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 });
    expect(ok.statusCode).toBe(200);
    expect(ok.data).toMatchObject({ sku: 'tea', retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 });
    for (const bad of [
      { retail_fen: 10000, province_fen: 6500, city_fen: 6000, district_fen: 7000 },
      { retail_fen: 10000, province_fen: 5000, city_fen: 7500, district_fen: 7000 },
      { retail_fen: 6999, province_fen: 5000, city_fen: 6000, district_fen: 7000 },
      { retail_fen: 10000, province_fen: -1, city_fen: 6000, district_fen: 7000 },
      { retail_fen: 10000, province_fen: 5000, city_fen: 6000 },
      { retail_fen: '10000', province_fen: 5000, city_fen: 6000, district_fen: 7000 },
      { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000, town_fen: 1 },
    ]) {
      const r = await call('PUT', '/v1/agent-prices/tea', bad);
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
      expect(r.data.error.code).toBe('invalid_request');
    }
    expect((await call('GET', '/v1/agent-prices')).data.items).toEqual([
      expect.objectContaining({ sku: 'tea', province_fen: 5000, city_fen: 6000, district_fen: 7000 }),
    ]);
  });

  it('prices a purchase order at the agent’s rank, is idempotent on its key, and adds the units to stock when paid', async () => {
    const { call, agent, inventory, verify } = await setup();
    await call('PUT', '/v1/agent-prices/tea', { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 });
    await call('PUT', '/v1/agent-prices/cup', { retail_fen: 500, province_fen: 300, city_fen: 350, district_fen: 400 });
    const a = await agent('district', '440305');
    const body = {
      agent_id: a.id,
      items: [
        { sku: 'tea', quantity: 3 },
        { sku: 'cup', quantity: 10 },
      ],
    };
    const po = await call('POST', '/v1/purchase-orders', body, { 'idempotency-key': 'k-1' });
    expect(po.statusCode).toBe(201);
    expect(po.data).toMatchObject({
      agent_id: a.id,
      status: 'pending_payment',
      amount_fen: 3 * 7000 + 10 * 400,
      items: [
        { sku: 'tea', quantity: 3, unit_price_fen: 7000 },
        { sku: 'cup', quantity: 10, unit_price_fen: 400 },
      ],
    });
    const again = await call('POST', '/v1/purchase-orders', body, { 'idempotency-key': 'k-1' });
    expect(again.statusCode).toBe(201);
    expect(again.data.id).toBe(po.data.id);
    const other = await call('POST', '/v1/purchase-orders', { ...body, items: [{ sku: 'tea', quantity: 4 }] }, { 'idempotency-key': 'k-1' });
    expect(other.statusCode).toBe(409);
    expect(await inventory(a.id)).toEqual([]);
    const paid = await call('POST', `/v1/purchase-orders/${po.data.id}/pay`, { reference: 'BANK-20260301-1' });
    expect(paid.statusCode).toBe(200);
    expect(paid.data).toMatchObject({ id: po.data.id, status: 'paid', reference: 'BANK-20260301-1' });
    expect((await call('POST', `/v1/purchase-orders/${po.data.id}/pay`, { reference: 'again' })).statusCode).toBe(409);
    expect((await inventory(a.id)).map((i) => [i.sku, i.quantity])).toEqual([
      ['cup', 10],
      ['tea', 3],
    ]);
    const moves = (await call('GET', `/v1/agents/${a.id}/stock-movements`)).data.items;
    expect(moves.map((m: { kind: string; quantity: number }) => [m.kind, m.quantity]).sort()).toEqual([
      ['purchase', 10],
      ['purchase', 3],
    ]);
    // The money: the merchant received 25000 fen for the agent's stock, held at cost.
    const journal = (await call('GET', `/v1/journal-entries?ref_id=${po.data.id}`)).data.items;
    expect(journal).toHaveLength(1);
    expect(journal[0].postings.map((p: { purpose: string; amount_fen: number }) => [p.purpose, p.amount_fen]).sort()).toEqual([
      ['agent_purchases', -25000],
      ['agent_stock', 25000],
    ]);
    expect(await verify()).toEqual([]);
  });

  it('refuses a purchase of 0, of an unknown SKU, for an unknown agent, and an unknown purchase order, writing nothing', async () => {
    const { call, agent } = await setup();
    await call('PUT', '/v1/agent-prices/tea', { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 });
    const a = await agent('district', '440305');
    for (const body of [
      { agent_id: a.id, items: [{ sku: 'tea', quantity: 0 }] },
      { agent_id: a.id, items: [{ sku: 'tea', quantity: -1 }] },
      { agent_id: a.id, items: [] },
      { agent_id: a.id, items: [{ sku: 'nothing', quantity: 1 }] },
      { agent_id: 'agt_nobody', items: [{ sku: 'tea', quantity: 1 }] },
      { agent_id: a.id, items: [{ sku: 'tea', quantity: 1, price: 1 }] },
    ]) {
      const r = await call('POST', '/v1/purchase-orders', body, { 'idempotency-key': `bad-${JSON.stringify(body).length}` });
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.data.error.code).toBe('invalid_request');
    }
    expect((await call('GET', `/v1/purchase-orders?agent_id=${a.id}`)).data.items).toEqual([]);
    expect((await call('POST', '/v1/purchase-orders/apo_nothing/pay', { reference: 'x' })).statusCode).toBe(404);
    expect((await call('POST', '/v1/purchase-orders/apo_nothing/pay', {})).statusCode).toBe(400);
  });
});

describe('sales from stock', () => {
  it('takes the units from the agent’s stock and credits the price difference; a sale beyond stock is 422 with nothing written', async () => {
    const { call, a, order, inventory, verify } = await stocked(5);
    const o = await order('s-1', { fulfilled_by: a.id }, [{ sku: 'tea', quantity: 3, unit_price_fen: 10000, paid_fen: 29000 }]);
    expect(o.statusCode).toBe(201);
    const diff = (o.data.commissions as Line[]).filter((l) => l.kind === 'price_difference');
    expect(diff.map((l) => [l.beneficiary_id, l.level, l.base_fen, l.amount_fen, l.status])).toEqual([
      [a.distributor_id, 0, 29000, 29000 - 3 * 6000, 'pending'],
    ]);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ sku: 'tea', quantity: 2, value_fen: 12000 })]);
    const beyond = await order('s-2', { fulfilled_by: a.id }, [{ sku: 'tea', quantity: 3, unit_price_fen: 10000, paid_fen: 30000 }]);
    expect(beyond.statusCode).toBe(422);
    expect(beyond.data.error.code).toBe('insufficient_stock');
    expect((await call('GET', '/v1/orders/s-2')).statusCode).toBe(404);
    // Nothing of the refused order stays, not even its new buyer.
    expect((await call('GET', '/v1/customers/buyer-s-2')).statusCode).toBe(404);
    expect((await call('GET', '/v1/customers/buyer-s-1')).statusCode).toBe(200);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ sku: 'tea', quantity: 2 })]);
    // A SKU it never bought, an unknown agent.
    expect((await order('s-3', { fulfilled_by: a.id }, [{ sku: 'cup', quantity: 1, unit_price_fen: 1, paid_fen: 1 }])).statusCode).toBe(422);
    expect((await order('s-4', { fulfilled_by: 'agt_nobody' })).statusCode).toBe(400);
    // Sold below cost: no line, the units still leave.
    const low = await order('s-5', { fulfilled_by: a.id }, [{ sku: 'tea', quantity: 1, unit_price_fen: 5000, paid_fen: 5000 }]);
    expect((low.data.commissions as Line[]).filter((l) => l.kind === 'price_difference')).toEqual([]);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ sku: 'tea', quantity: 1 })]);
    expect((await call('GET', `/v1/distributors/${a.distributor_id}/balance`)).data.pending_fen).toBe(11000);
    expect(await verify()).toEqual([]);
  });

  it('a refund by items returns the units and recomputes the price difference on what remains', async () => {
    const { call, a, order, inventory, verify } = await stocked(5);
    await order('rf-1', { fulfilled_by: a.id }, [{ sku: 'tea', quantity: 3, unit_price_fen: 10000, paid_fen: 30000 }]);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ quantity: 2 })]);
    const r = await call('POST', '/v1/orders/rf-1/events', { type: 'refunded', items: [{ sku: 'tea', quantity: 1 }] });
    expect(r.statusCode).toBe(200);
    // 20000 still paid for 2 units that cost 12000: 8000.
    expect((r.data.commissions as Line[]).filter((l) => l.kind === 'price_difference').map((l) => [l.base_fen, l.amount_fen, l.status])).toEqual([
      [20000, 8000, 'pending'],
    ]);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ quantity: 3, value_fen: 18000 })]);
    // A refund of money only keeps the units sold: 15000 paid for 2 units at 12000 → 3000.
    const m = await call('POST', '/v1/orders/rf-1/events', { type: 'refunded', refund_fen: 5000 });
    expect((m.data.commissions as Line[]).filter((l) => l.kind === 'price_difference').map((l) => l.amount_fen)).toEqual([3000]);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ quantity: 3 })]);
    // Cancelling returns the rest.
    const c = await call('POST', '/v1/orders/rf-1/events', { type: 'cancelled' });
    expect((c.data.commissions as Line[]).filter((l) => l.kind === 'price_difference').map((l) => [l.amount_fen, l.status])).toEqual([[0, 'reversed']]);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ quantity: 5, value_fen: 30000 })]);
    const kinds = (await call('GET', `/v1/agents/${a.id}/stock-movements`)).data.items.map((x: { kind: string; quantity: number }) => [x.kind, x.quantity]);
    expect(kinds).toEqual([
      ['refund_return', 2],
      ['refund_return', 1],
      ['sale', -3],
      ['purchase', 5],
    ]);
    expect(await verify()).toEqual([]);
  });

  it('orders of one batch see the units earlier orders of the batch took', async () => {
    const { a, order, inventory, verify } = await stocked(4);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => order(`b-${i}`, { fulfilled_by: a.id }, [{ sku: 'tea', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }])),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(4);
    expect(results.filter((r) => r.statusCode === 422)).toHaveLength(2);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ quantity: 0 })]);
    expect(await verify()).toEqual([]);
  });
});

describe('buyback', () => {
  it('takes back unsold stock bought within buyback_days at what the agent paid; beyond stock or past the window is 422', async () => {
    const { call, a, inventory, verify, order } = await stocked(5);
    await order('bb-1', { fulfilled_by: a.id }, [{ sku: 'tea', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }]);
    const r = await call('POST', `/v1/agents/${a.id}/stock-returns`, { items: [{ sku: 'tea', quantity: 2 }] });
    expect(r.statusCode).toBe(201);
    expect(r.data).toMatchObject({ id: expect.any(String), amount_fen: 12000 });
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ quantity: 2 })]);
    const beyond = await call('POST', `/v1/agents/${a.id}/stock-returns`, { items: [{ sku: 'tea', quantity: 3 }] });
    expect(beyond.statusCode).toBe(422);
    expect(beyond.data.error.code).toBe('insufficient_stock');
    for (const bad of [{ items: [{ sku: 'tea', quantity: 0 }] }, { items: [] }, {}, { items: [{ sku: 'tea', quantity: 1 }], amount_fen: 1 }]) {
      expect((await call('POST', `/v1/agents/${a.id}/stock-returns`, bad)).statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await call('POST', '/v1/agents/agt_nobody/stock-returns', { items: [{ sku: 'tea', quantity: 1 }] })).statusCode).toBe(404);
    clock.advance(31 * 86_400_000);
    try {
      const late = await call('POST', `/v1/agents/${a.id}/stock-returns`, { items: [{ sku: 'tea', quantity: 1 }] });
      expect(late.statusCode).toBe(422);
      expect(late.data.error.message).toContain('30 days');
    } finally {
      clock.advance(-31 * 86_400_000);
    }
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ quantity: 2 })]);
    const journal = (await call('GET', `/v1/journal-entries?ref_id=${r.data.id}`)).data.items;
    expect(journal[0].postings.map((p: { purpose: string; amount_fen: number }) => [p.purpose, p.amount_fen]).sort()).toEqual([
      ['agent_purchases', 12000],
      ['agent_stock', -12000],
    ]);
    expect(await verify()).toEqual([]);
  });
});

describe('stock corrections', () => {
  it('writes a stocktake’s missing and found units as correction movements with the reason, writes off what the missing cost, audited and idempotent', async () => {
    const { call, a, inventory, verify } = await stocked(5);
    const body = { items: [{ sku: 'tea', quantity: -2 }], reason: '盘点短少 2 件' };
    const r = await call('POST', `/v1/agents/${a.id}/stock-corrections`, body, { 'idempotency-key': 'count-1' });
    expect(r.statusCode).toBe(201);
    expect(r.data).toMatchObject({ agent_id: a.id, reason: '盘点短少 2 件', amount_fen: 12000, items: [{ sku: 'tea', quantity: -2, amount_fen: 12000 }] });
    // A retry answers the first answer and moves nothing again; another body under the key is a 409.
    const again = await call('POST', `/v1/agents/${a.id}/stock-corrections`, body, { 'idempotency-key': 'count-1' });
    expect(again.statusCode).toBe(201);
    expect(again.data).toEqual(r.data);
    const other = await call('POST', `/v1/agents/${a.id}/stock-corrections`, { ...body, reason: 'x' }, { 'idempotency-key': 'count-1' });
    expect(other.statusCode).toBe(409);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ sku: 'tea', quantity: 3, value_fen: 18000 })]);

    // Units found join the stock at no cost: no money moves, and a buyback of them pays nothing.
    const found = await call('POST', `/v1/agents/${a.id}/stock-corrections`, { items: [{ sku: 'tea', quantity: 1 }], reason: '盘点多出 1 件' });
    expect(found.statusCode).toBe(201);
    expect(found.data.amount_fen).toBe(0);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ sku: 'tea', quantity: 4, value_fen: 18000 })]);

    const moves = (await call('GET', `/v1/agents/${a.id}/stock-movements`)).data.items as {
      kind: string;
      quantity: number;
      reason: string | null;
      ref_id: string;
    }[];
    expect(moves.filter((m) => m.kind === 'correction').map((m) => [m.quantity, m.reason, m.ref_id])).toEqual([
      [1, '盘点多出 1 件', found.data.id],
      [-2, '盘点短少 2 件', r.data.id],
    ]);
    const journal = (await call('GET', `/v1/journal-entries?ref_id=${r.data.id}`)).data.items;
    expect(journal).toHaveLength(1);
    expect(journal[0].postings.map((p: { purpose: string; amount_fen: number }) => [p.purpose, p.amount_fen]).sort()).toEqual([
      ['agent_stock', -12000],
      ['agent_stock_corrections', 12000],
    ]);
    expect((await call('GET', `/v1/journal-entries?ref_id=${found.data.id}`)).data.items).toEqual([]);
    const audit = (await call('GET', `/v1/audit-log?action=agent.stock_correction&target_id=${a.id}`)).data.items as { reason: string | null }[];
    expect(audit.map((e) => e.reason).sort()).toEqual(['盘点多出 1 件', '盘点短少 2 件']);
    expect(await verify()).toEqual([]);
  });

  it('refuses a correction beyond stock (422), of 0 units, without a reason or of an unknown agent, writing nothing', async () => {
    const { call, a, inventory, verify } = await stocked(2);
    const beyond = await call('POST', `/v1/agents/${a.id}/stock-corrections`, {
      items: [
        { sku: 'tea', quantity: 1 },
        { sku: 'tea-2', quantity: -1 },
      ],
      reason: '盘点',
    });
    expect(beyond.statusCode).toBe(422);
    expect(beyond.data.error.code).toBe('insufficient_stock');
    const over = await call('POST', `/v1/agents/${a.id}/stock-corrections`, { items: [{ sku: 'tea', quantity: -3 }], reason: '盘点' });
    expect(over.statusCode).toBe(422);
    for (const bad of [
      { items: [{ sku: 'tea', quantity: 0 }], reason: '盘点' },
      { items: [{ sku: 'tea', quantity: -1 }] },
      { items: [{ sku: 'tea', quantity: -1 }], reason: '' },
      { items: [], reason: '盘点' },
      {
        items: [
          { sku: 'tea', quantity: -1 },
          { sku: 'tea', quantity: -1 },
        ],
        reason: '盘点',
      },
      { items: [{ sku: 'tea', quantity: '-1' }], reason: '盘点' },
      { items: [{ sku: 'tea', quantity: -1 }], reason: '盘点', amount_fen: 1 },
    ]) {
      const res = await call('POST', `/v1/agents/${a.id}/stock-corrections`, bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    expect((await call('POST', '/v1/agents/agt_nobody/stock-corrections', { items: [{ sku: 'tea', quantity: -1 }], reason: '盘点' })).statusCode).toBe(404);
    // Another tenant's key does not find the agent.
    const stranger = await t.tenant();
    expect(
      (await t.call('POST', `/v1/agents/${a.id}/stock-corrections`, { token: stranger.key, body: { items: [{ sku: 'tea', quantity: -1 }], reason: '盘点' } }))
        .statusCode,
    ).toBe(404);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ sku: 'tea', quantity: 2, value_fen: 12000 })]);
    const moves = (await call('GET', `/v1/agents/${a.id}/stock-movements`)).data.items as { kind: string }[];
    expect(moves.map((m) => m.kind)).toEqual(['purchase']);
    expect(await verify()).toEqual([]);
  });
});

describe('territory report', () => {
  it('sums each territory’s orders and territory commission after refunds, price differences, stock and slow stock, per agent and per rank', async () => {
    const { call, agent, order } = await setup();
    expect((await call('PUT', '/v1/agent-prices/tea', { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 })).statusCode).toBe(200);
    const dA = await agent('district', '440305');
    const cA = await agent('city', '440300');
    const pA = await agent('province', '440000');
    const po = await call(
      'POST',
      '/v1/purchase-orders',
      { agent_id: dA.id, items: [{ sku: 'tea', quantity: 4 }] },
      { 'idempotency-key': `po-report-${dA.id}` },
    );
    expect((await call('POST', `/v1/purchase-orders/${po.data.id}/pay`, { reference: 'bank-r' })).statusCode).toBe(200);
    // Nanshan: 100 yuan from the district agent's stock; Shenzhen without a district: 50 yuan; Guangzhou: 20 yuan.
    expect((await order('tr-1', { region_code: '440305', fulfilled_by: dA.id })).statusCode).toBe(201);
    expect((await order('tr-2', { region_code: '440300' }, [{ sku: 'cup', quantity: 1, unit_price_fen: 5000, paid_fen: 5000 }])).statusCode).toBe(201);
    expect((await order('tr-3', { region_code: '440106' }, [{ sku: 'cup', quantity: 1, unit_price_fen: 2000, paid_fen: 2000 }])).statusCode).toBe(201);
    // Half of tr-2 refunded: 2500 left, city floor(2500 × 2%) = 50, province 25.
    expect((await call('POST', '/v1/orders/tr-2/events', { type: 'refunded', refund_fen: 2500 })).statusCode).toBe(200);
    clock.advance(61 * 86_400_000);
    try {
      const r = await call('GET', '/v1/agent-territories?slow_days=60');
      expect(r.statusCode).toBe(200);
      const row = (id: string) => r.data.items.find((i: { agent_id: string }) => i.agent_id === id);
      // The report's default period is the last 30 days: the orders are older.
      expect(row(dA.id)).toMatchObject({ orders: 0, sales_fen: 0, territory_commission_fen: 0, stock_units: 3, stock_value_fen: 21000, slow_units: 3 });
      const from = '2026-01-01T00:00:00Z';
      const all = (await call('GET', `/v1/agent-territories?from=${from}&slow_days=90`)).data;
      const get = (id: string) => all.items.find((i: { agent_id: string }) => i.agent_id === id);
      expect(get(dA.id)).toMatchObject({
        rank: 'district',
        region_full_name: '广东省深圳市南山区',
        orders: 1,
        sales_fen: 10000,
        refunded_fen: 0,
        territory_commission_fen: 300,
        price_difference_fen: 3000,
        stock_units: 3,
        stock_value_fen: 21000,
        slow_units: 0,
        slow_value_fen: 0,
      });
      expect(get(cA.id)).toMatchObject({
        orders: 2,
        sales_fen: 15000,
        refunded_fen: 2500,
        territory_commission_fen: 200 + 50,
        price_difference_fen: 0,
        stock_units: 0,
      });
      expect(get(pA.id)).toMatchObject({ orders: 3, sales_fen: 17000, refunded_fen: 2500, territory_commission_fen: 100 + 25 + 20 });
      expect(all.by_rank).toEqual([
        { rank: 'province', agents: 1, orders: 3, sales_fen: 17000, refunded_fen: 2500, territory_commission_fen: 145, stock_value_fen: 0 },
        { rank: 'city', agents: 1, orders: 2, sales_fen: 15000, refunded_fen: 2500, territory_commission_fen: 250, stock_value_fen: 0 },
        { rank: 'district', agents: 1, orders: 1, sales_fen: 10000, refunded_fen: 0, territory_commission_fen: 300, stock_value_fen: 21000 },
      ]);
      // The figures are what the order lines say.
      const lines = (await call('GET', '/v1/orders/tr-2')).data.commissions as Line[];
      expect(lines.filter((l) => l.kind === 'territory' && l.beneficiary_id === cA.distributor_id).reduce((s, l) => s + l.amount_fen, 0)).toBe(50);
      // A transferred territory: the new agent counts only what was paid after it took over.
      const d2 = (await call('POST', '/v1/distributors', { external_id: 'heir', name: 'Heir' })).data;
      const moved = await call('POST', `/v1/agents/${cA.id}/transfer`, { distributor_id: d2.id, reason: '转让' });
      expect(moved.statusCode).toBe(200);
      clock.advance(1000);
      expect((await order('tr-4', { region_code: '440304' }, [{ sku: 'cup', quantity: 1, unit_price_fen: 1000, paid_fen: 1000 }])).statusCode).toBe(201);
      clock.advance(1000);
      const after = (await call('GET', `/v1/agent-territories?from=${from}`)).data;
      expect(after.items.find((i: { agent_id: string }) => i.agent_id === moved.data.id)).toMatchObject({
        orders: 1,
        sales_fen: 1000,
        territory_commission_fen: 20,
      });
      expect(after.items.find((i: { agent_id: string }) => i.agent_id === cA.id)).toMatchObject({ status: 'ended', orders: 2, territory_commission_fen: 250 });
      for (const bad of ['from=yesterday', 'slow_days=0', 'slow_days=x', `from=${from}&to=${from}`, 'rank=city']) {
        const res = await call('GET', `/v1/agent-territories?${bad}`);
        expect(res.statusCode, bad).toBe(400);
        expect(res.data.error.code).toBe('invalid_request');
      }
    } finally {
      clock.advance(-61 * 86_400_000 - 2000);
    }
    // Another tenant sees none of it.
    const stranger = await t.tenant();
    expect((await t.call('GET', '/v1/agent-territories', { token: stranger.key })).data.items).toEqual([]);
  });
});

describe('purchase order payment callback', () => {
  it('a signed callback from the payment channel pays the order once; retries answer the same; bad signatures, amounts and bodies change nothing', async () => {
    const s = await setup();
    const { call, tenantId, inventory, verify } = s;
    expect((await call('PUT', '/v1/agent-prices/tea', { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 })).statusCode).toBe(200);
    const a = await s.agent('district', '440305');
    const po = (await call('POST', '/v1/purchase-orders', { agent_id: a.id, items: [{ sku: 'tea', quantity: 3 }] }, { 'idempotency-key': 'cb-1' })).data;
    expect(po.amount_fen).toBe(21000);
    const secret = (await call('POST', '/v1/webhooks/secret', { format: 'generic' })).data.secret as string;
    const url = `/v1/webhooks/${tenantId}/purchase-payments`;
    const send = (body: unknown, opts: { key?: string; at?: number } = {}) => {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const ts = String(opts.at ?? Math.floor(clock.now().getTime() / 1000));
      const sig = createHmac('sha256', opts.key ?? secret)
        .update(`${ts}.${raw}`)
        .digest('hex');
      return t.call('POST', url, {
        rawBody: raw,
        headers: { 'content-type': 'application/json', 'x-fenxiao-timestamp': ts, 'x-fenxiao-signature': `v1=${sig}` },
      });
    };
    const payment = { purchase_order_id: po.id, reference: 'WX-4200001', amount_fen: 21000 };

    // Refused, nothing written: a wrong secret, a stale timestamp, another amount, a bad body, an unknown order.
    expect((await send(payment, { key: 'fxw_not-the-secret' })).statusCode).toBe(401);
    expect((await send(payment, { at: Math.floor(clock.now().getTime() / 1000) - 3600 })).statusCode).toBe(401);
    const short = await send({ ...payment, amount_fen: 20000 });
    expect(short.statusCode).toBe(400);
    expect(short.data.error.message).toContain('21000');
    for (const bad of ['{', { ...payment, amount_fen: -1 }, { ...payment, reference: '' }, { ...payment, extra: 1 }, { purchase_order_id: po.id }]) {
      const res = await send(bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    expect((await send({ ...payment, purchase_order_id: 'apo_nothing' })).statusCode).toBe(404);
    expect((await call('GET', `/v1/purchase-orders/${po.id}`)).data.status).toBe('pending_payment');
    expect(await inventory(a.id)).toEqual([]);

    const paid = await send(payment);
    expect(paid.statusCode).toBe(200);
    expect(paid.data).toMatchObject({ id: po.id, status: 'paid', reference: 'WX-4200001', amount_fen: 21000 });
    // The channel retries: the same answer, the stock and the money once.
    const again = await send(payment);
    expect(again.statusCode).toBe(200);
    expect(again.data).toEqual(paid.data);
    expect((await send({ ...payment, reference: 'WX-other' })).statusCode).toBe(409);
    expect(await inventory(a.id)).toEqual([expect.objectContaining({ sku: 'tea', quantity: 3, value_fen: 21000 })]);
    const journal = (await call('GET', `/v1/journal-entries?ref_id=${po.id}`)).data.items;
    expect(journal).toHaveLength(1);
    const audit = (await call('GET', `/v1/audit-log?action=purchase_order.pay&target_id=${po.id}`)).data.items as { actor_type: string }[];
    expect(audit.map((e) => e.actor_type)).toEqual(['system']);
    // Another tenant's secret does not pay this tenant's orders.
    const other = await t.tenant();
    const otherSecret = (await t.call('POST', '/v1/webhooks/secret', { token: other.key, body: { format: 'generic' } })).data.secret as string;
    const po2 = (await call('POST', '/v1/purchase-orders', { agent_id: a.id, items: [{ sku: 'tea', quantity: 1 }] }, { 'idempotency-key': 'cb-2' })).data;
    expect((await send({ purchase_order_id: po2.id, reference: 'WX-2', amount_fen: 7000 }, { key: otherSecret })).statusCode).toBe(401);
    expect((await call('GET', `/v1/purchase-orders/${po2.id}`)).data.status).toBe('pending_payment');
    expect(await verify()).toEqual([]);
  });
});
