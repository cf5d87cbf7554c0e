import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';

export interface LedgerBreak {
  invariant: string;
  subject: string;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  tenant_id: string | null;
  checked: { journals: number; postings: number; accounts: number; commissions: number };
  breaks: LedgerBreak[];
}

/** `t(alias)` is the tenant filter on that table alias (or `true` when verifying everything). */
type Scope = (alias: string) => RawBuilder<unknown>;
type Check = { invariant: string; query: (t: Scope) => RawBuilder<{ subject: string; detail: string }> };

/**
 * Every invariant of DESIGN.md ("Money"), each a query that lists what breaks it. An empty
 * result is the proof; each break is named with the journal, account or line it concerns.
 * Checks that other modules own (withdrawals, payouts) register themselves with `extraChecks`.
 */
export const LEDGER_CHECKS: Check[] = [
  {
    invariant: 'every journal balances (debits = credits)',
    query: (t) => sql`select p.journal_id as subject, 'off by ' || sum(p.amount) || ' fen' as detail
      from postings p where ${t('p')} group by p.journal_id having sum(p.amount) <> 0`,
  },
  {
    invariant: 'the trial balance over all accounts is zero',
    query: (t) => sql`select coalesce(max(p.tenant_id), 'all') as subject, 'off by ' || sum(p.amount) || ' fen' as detail
      from postings p where ${t('p')} having coalesce(sum(p.amount), 0) <> 0`,
  },
  {
    invariant: 'each cached balance equals the sum of its postings',
    query: (t) => sql`select a.id as subject, a.purpose || ' ' || a.owner_id || ': cached ' || a.balance || ', postings ' || coalesce(s.total, 0)
        || ' (version ' || a.version || ', postings ' || coalesce(s.n, 0) || ')' as detail
      from accounts a left join (select account_id, sum(amount) as total, count(*) as n from postings group by account_id) s on s.account_id = a.id
      where a.cached and ${t('a')} and (a.balance <> coalesce(s.total, 0) or a.version <> coalesce(s.n, 0))`,
  },
  {
    invariant: "each posting's balance_after is the running balance of its account",
    query: (t) => sql`select r.id::text as subject, 'balance_after ' || r.balance_after || ', running ' || r.running as detail
      from (select p.id, p.balance_after, sum(p.amount) over (partition by p.account_id order by p.id) as running
              from postings p join accounts a on a.id = p.account_id where a.cached and ${t('p')}) r
      where r.balance_after is distinct from r.running`,
  },
  {
    invariant: 'no bounded account is below zero',
    query: (t) => sql`select a.id as subject, a.purpose || ' of ' || a.owner_id || ' is ' || a.balance as detail
      from accounts a where a.bounded and a.balance < 0 and ${t('a')}`,
  },
  {
    invariant: "each commission line's postings add up to its amount, in the account of its status",
    // One grouped pass over the postings joined to the lines (hash joins), not a lookup per line:
    // the plan stays sound whatever the statistics say (a bulk load not yet analyzed made the
    // per-line form scan the accounts for each line and run for many minutes).
    query: (t) => sql`select c.id as subject, c.status || ' line of ' || c.amount_fen || ' fen: postings total ' || coalesce(s.total, 0)
        || ', in ' || h.purpose || ' ' || coalesce(case h.purpose when 'available' then s.available when 'withdrawable' then s.withdrawable else s.pending end, 0) as detail
      from commissions c
      cross join lateral (select case c.status when 'available' then 'available' when 'settled' then 'withdrawable' else 'pending' end as purpose) h
      left join (
        select p.commission_id, sum(p.amount) as total,
               sum(p.amount) filter (where a.purpose = 'pending') as pending,
               sum(p.amount) filter (where a.purpose = 'available') as available,
               sum(p.amount) filter (where a.purpose = 'withdrawable') as withdrawable
          from postings p join accounts a on a.id = p.account_id
         where p.commission_id is not null and a.owner_type = 'distributor' and ${t('p')}
         group by p.commission_id) s on s.commission_id = c.id
      where ${t('c')}
        and (coalesce(s.total, 0) <> c.amount_fen
          or (c.status <> 'reversed' and coalesce(case h.purpose when 'available' then s.available when 'withdrawable' then s.withdrawable else s.pending end, 0) <> c.amount_fen))`,
  },
  {
    // A settled line keeps its figures; the clawbacks that later refunds added count against it.
    invariant: "no commission line exceeds its rule's share of what its order line still paid",
    query: (t) => sql`select c.id as subject, 'amount ' || (c.amount_fen + coalesce(k.amount, 0)) || ' on base ' || (c.base_fen + coalesce(k.base, 0))
        || ' (line paid ' || i.paid_fen || ', refunded ' || i.refunded_fen || ')' as detail
      from commissions c join order_items i on i.id = c.order_item_id
      left join (select x.clawback_of, sum(x.amount_fen) as amount, sum(x.base_fen) as base from commissions x
                  where x.clawback_of is not null and ${t('x')} group by x.clawback_of) k on k.clawback_of = c.id
      where c.kind = 'commission' and ${t('c')}
        and (c.base_fen + coalesce(k.base, 0) > i.paid_fen - i.refunded_fen
          or c.amount_fen + coalesce(k.amount, 0) > case c.rate_kind when 'percent' then ((c.base_fen + coalesce(k.base, 0)) * c.rate_bp) / 10000 else c.fixed_fen * c.units end
          or c.original_amount_fen > case c.rate_kind when 'percent' then (c.original_base_fen * c.rate_bp) / 10000 else c.fixed_fen * i.quantity end)`,
  },
  {
    invariant: "the merchant's commission expense equals the sum of all commission lines",
    query: (t) => sql`select x.tenant_id as subject, 'expense ' || x.expense || ', lines ' || coalesce(y.lines, 0) as detail
      from (select a.tenant_id, -sum(p.amount) as expense from postings p join accounts a on a.id = p.account_id
             where a.owner_id = 'tenant' and a.purpose = 'commission_expense' and ${t('a')} group by a.tenant_id) x
      left join (select tenant_id, sum(amount_fen) as lines from commissions group by tenant_id) y on y.tenant_id = x.tenant_id
      where x.expense <> coalesce(y.lines, 0)`,
  },
  {
    invariant: 'postings and journal entries are never changed (append-only triggers are in place)',
    query: () => sql`select t.name as subject, 'trigger missing' as detail
      from (values ('postings_append_only'), ('journal_entries_append_only'), ('postings_balanced')) t(name)
      where not exists (select 1 from pg_trigger g where g.tgname = t.name and not g.tgisinternal)`,
  },
];

export async function verifyLedger(db: Executor, tenantId: string | null, extraChecks: Check[] = []): Promise<VerifyReport> {
  const scope: Scope = (alias) => (tenantId === null ? sql`true` : sql`${sql.ref(`${alias}.tenant_id`)} = ${tenantId}`);
  const breaks: LedgerBreak[] = [];
  for (const check of [...LEDGER_CHECKS, ...extraChecks]) {
    const rows = await check.query(scope).execute(db);
    for (const r of rows.rows) breaks.push({ invariant: check.invariant, subject: r.subject, detail: r.detail });
  }
  const count = async (table: string) => {
    const r = await sql<{ n: number }>`select count(*)::bigint as n from ${sql.table(table)} as x where ${scope('x')}`.execute(db);
    return Number(r.rows[0]?.n ?? 0);
  };
  return {
    ok: breaks.length === 0,
    tenant_id: tenantId,
    checked: {
      journals: await count('journal_entries'),
      postings: await count('postings'),
      accounts: await count('accounts'),
      commissions: await count('commissions'),
    },
    breaks,
  };
}

export type { Check as LedgerCheck };
