import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../support/server.ts';
import type { ManualClock } from '../../src/core/context.ts';
import { computeOrderCommissions, type RulesSnapshot } from '../../src/modules/commissions/calculator.ts';
import { hashBucket } from '../../src/modules/pilots/cohort.ts';

/**
 * Rule releases as a model check: fast-check draws a forest of distributors and their buyers, a
 * grade set now, a back-dated change (levels and rates from ten days ago), a scheduled one
 * (tomorrow), a pilot over a random cohort (listed distributors and a percent) with its own
 * changes, and orders paid from two weeks ago to two days ahead. Every line of every order must
 * be what the calculator gives under the rules that applied to its seller when it was paid —
 * worked out here from the changes themselves (the fold in order of effective time, the pilot
 * laid over for a seller in its cohort paid since it started, its fixed amounts per unit or per
 * order on the grade and the program default included) — and carry the pilot's id exactly
 * when the pilot applied.
 */

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const DAY = 86_400_000;
const rates = fc.record({
  sales_bp: fc.integer({ min: 0, max: 2000 }),
  override_bp: fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 0, maxLength: 3 }),
});

/** Fixed amounts a pilot may set (on a grade or the program default): null clears one, fixed_per unit or order. */
const fixed = fc.record(
  {
    sales_fixed_fen: fc.option(fc.integer({ min: 0, max: 500 }), { nil: null }),
    override_fixed_fen: fc.array(fc.option(fc.integer({ min: 0, max: 500 }), { nil: null }), { minLength: 0, maxLength: 3 }),
    fixed_per: fc.constantFrom<'unit' | 'order'>('unit', 'order'),
  },
  { requiredKeys: [] },
);
/** The program default's: every override level set, so that it pays wherever a pilot's grade leaves a level without a rate. */
const defaultFixed = fc.record(
  {
    sales_fixed_fen: fc.option(fc.integer({ min: 0, max: 500 }), { nil: null }),
    override_fixed_fen: fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 3, maxLength: 3 }),
    fixed_per: fc.constantFrom<'unit' | 'order'>('unit', 'order'),
  },
  { requiredKeys: ['override_fixed_fen'] },
);
type Fixed = { sales_fixed_fen?: number | null; override_fixed_fen?: (number | null)[]; fixed_per?: 'unit' | 'order' };

const world = fc.record({
  parents: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
  roots: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  now: rates,
  back: fc.record({ levels: fc.integer({ min: 0, max: 3 }), grade: rates }),
  scheduled: rates,
  pilot: fc.record({
    ids: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    percent: fc.constantFrom(0, 0, 30, 70),
    levels: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    // At most one override rate: levels above it fall to the program default (the pilot's fixed amounts there).
    grade: fc.option(
      fc.record({ sales_bp: fc.integer({ min: 0, max: 2000 }), override_bp: fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 0, maxLength: 1 }) }),
      { nil: undefined },
    ),
    gradeFixed: fc.option(fixed, { nil: undefined }),
    defaultFixed: fc.option(defaultFixed, { nil: undefined }),
  }),
  orders: fc.array(
    fc.record({
      buyer: fc.nat({ max: 5 }),
      // Half of them paid since the pilot started (now), where its changes apply.
      hours: fc.oneof(fc.integer({ min: -15 * 24, max: -1 }), fc.integer({ min: 0, max: 2 * 24 })),
      items: fc.array(fc.record({ sku: fc.constantFrom('a', 'b'), quantity: fc.integer({ min: 1, max: 3 }), paid_fen: fc.integer({ min: 0, max: 50_000 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
    }),
    { minLength: 3, maxLength: 8 },
  ),
});

type Rates = { sales_bp: number; override_bp: number[] };

describe('rule releases (property)', () => {
  it('every line equals the calculator under the rules in force for its seller at its paid time, pilot laid over for its cohort', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        run++;
        const clock = t.clock as ManualClock;
        const { id: tenantId, key } = await t.tenant(`prop ${run}`);
        const call = async (method: string, url: string, body?: unknown) => {
          const res = await t.call(method, url, { token: key, body });
          if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
          return res.data;
        };
        const T0 = clock.now().getTime();
        const grade = (r: Rates) => ({ name: 'default', rank: 0, ...r });
        await call('PUT', '/v1/grades/default', grade(w.now));
        const program = await call('GET', '/v1/program');
        // Six distributors: 0 a root, each next under an earlier one unless drawn a root.
        const ids: string[] = [];
        const codes: string[] = [];
        const parent: (number | null)[] = [];
        for (let i = 0; i < 6; i++) {
          const p = i === 0 || w.roots[i - 1] ? null : (w.parents[i - 1] as number) % i;
          const d = await call('POST', '/v1/distributors', { external_id: `d${i}`, name: `d${i}`, ...(p === null ? {} : { referrer_code: codes[p] }) });
          ids.push(d.id);
          codes.push(d.invite_code);
          parent.push(p);
        }
        for (let b = 0; b < 6; b++) await call('POST', '/v1/bindings', { customer_external_id: `buyer${b}`, invite_code: codes[b] });
        await call('PUT', `/v1/program?effective_from=${new Date(T0 - 10 * DAY).toISOString()}&reason=import`, { levels: w.back.levels });
        await call('PUT', `/v1/grades/default?effective_from=${new Date(T0 - 10 * DAY).toISOString()}&reason=import`, grade(w.back.grade));
        await call('PUT', `/v1/grades/default?effective_from=${new Date(T0 + DAY).toISOString()}`, grade(w.scheduled));
        const cohortIds = ids.filter((_, i) => w.pilot.ids[i]);
        const pilotBody = {
          name: 'p',
          cohort: { distributor_ids: cohortIds, percent: w.pilot.percent },
          ...(w.pilot.levels !== undefined || w.pilot.defaultFixed
            ? {
                program: {
                  ...(w.pilot.levels !== undefined ? { levels: w.pilot.levels } : {}),
                  ...(w.pilot.defaultFixed ? { default_rates: w.pilot.defaultFixed } : {}),
                },
              }
            : {}),
          grades: { default: { ...(w.pilot.grade ?? { sales_bp: 123 }), ...w.pilot.gradeFixed } },
        };
        const inCohortByModel = (i: number) => !!w.pilot.ids[i] || hashBucket(tenantId, ids[i] as string) < w.pilot.percent;
        const empty = cohortIds.length === 0 && w.pilot.percent === 0;
        const pilot = empty ? null : await call('POST', '/v1/pilots', pilotBody);

        /** The rules for seller i paid at `at`, from the changes themselves. */
        const rulesFor = (i: number, at: number): RulesSnapshot => {
          // Levels: 2 from the start, the back-dated value from ten days ago (nothing later sets them).
          let levels = at >= T0 - 10 * DAY ? w.back.levels : 2;
          let g: Rates & Fixed = at < T0 - 10 * DAY ? { sales_bp: 0, override_bp: [0, 0, 0] } : at < T0 ? w.back.grade : at < T0 + DAY ? w.now : w.scheduled;
          let defaults: Fixed = {};
          const piloted = pilot !== null && at >= T0 && inCohortByModel(i);
          if (piloted) {
            if (w.pilot.levels !== undefined) levels = w.pilot.levels;
            // The grade had no fixed amounts nor the program default: the pilot's are the ones (null: none; fixed_per unit unless order).
            g = { ...g, ...(w.pilot.grade ?? { sales_bp: 123 }), ...w.pilot.gradeFixed };
            defaults = w.pilot.defaultFixed ?? {};
          }
          return {
            version: 0,
            levels,
            self_purchase: false,
            default_rates: { sales_bp: program.default_rates.sales_bp, override_bp: program.default_rates.override_bp, ...defaults },
            grades: {
              default: {
                rank: 0,
                sales_bp: g.sales_bp,
                override_bp: g.override_bp,
                tiers: [],
                upgrade: null,
                sales_fixed_fen: g.sales_fixed_fen,
                override_fixed_fen: g.override_fixed_fen,
                fixed_per: g.fixed_per,
              },
            },
            sku: {},
            caps: { per_order_fen: 0, per_day_fen: 0 },
          };
        };

        for (const [k, o] of w.orders.entries()) {
          const at = T0 + o.hours * 3_600_000;
          const answer = await call('POST', '/v1/orders', {
            external_id: `o${k}`,
            buyer_external_id: `buyer${o.buyer}`,
            paid_at: new Date(at).toISOString(),
            items: o.items.map((i) => ({ ...i, unit_price_fen: Math.ceil(i.paid_fen / i.quantity) })),
          });
          const seller = o.buyer;
          expect(answer.seller_id).toBe(ids[seller]);
          const rules = rulesFor(seller, at);
          const chain: number[] = [];
          for (let d: number | null = seller; d !== null && chain.length <= rules.levels; d = parent[d] ?? null) chain.push(d);
          const expected = computeOrderCommissions(
            o.items.map((i, n) => ({ id: String(n), sku: i.sku, quantity: i.quantity, paid_fen: i.paid_fen })),
            chain.map((d, level) => ({ id: ids[d] as string, level, grade: 'default', active: true, monthly_sales_fen: 0, earned_today_fen: 0 })),
            rules,
          )
            .filter((l) => l.amountFen !== 0)
            .map((l) => `${l.beneficiaryId}/${l.level}/${l.amountFen}`)
            .sort();
          const got = (answer.commissions as { beneficiary_id: string; level: number; amount_fen: number; pilot_id?: string }[])
            .filter((l) => l.amount_fen !== 0)
            .map((l) => `${l.beneficiary_id}/${l.level}/${l.amount_fen}`)
            .sort();
          expect(got).toEqual(expected);
          const piloted = pilot !== null && at >= T0 && inCohortByModel(seller);
          for (const l of answer.commissions as { pilot_id?: string }[]) expect(l.pilot_id).toBe(piloted ? pilot.id : undefined);
        }
        // The next run starts later, so that its tenant's changes are its own.
        clock.advance(3 * DAY);
      }),
      { numRuns: 12 },
    );
  }, 600_000);
});
