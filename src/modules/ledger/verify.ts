import { sql, type RawBuilder } from 'kysely';
import type { Db, Executor } from '../../db/database.ts';

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

/** An incremental pass: what it started from and the invariants it leaves to the full pass. */
export interface IncrementalReport extends VerifyReport {
  /** The posting id of the checkpoint it started from: postings after it were checked. */
  since_posting_id: number;
  /** Invariants over all of a tenant's history, checked by the full pass only. */
  full_only: string[];
}

/** `t(alias)` is the tenant filter on that table alias (or `true` when verifying everything). */
type Scope = (alias: string) => RawBuilder<unknown>;
type Check = { invariant: string; query: (t: Scope) => RawBuilder<{ subject: string; detail: string }> };

/**
 * A commission line's own postings (those naming it): they add up to its amount, and sit in the
 * account of its status. A settled line sits in withdrawable when it was settled line by line
 * (before 2026-12-07), or stays in available when its statement's one journal moved it: then the
 * statement check below proves that journal moved exactly the statement's settled lines.
 */
const LINE_DETAIL = sql`c.status || ' line of ' || c.amount_fen || ' fen: postings total ' || coalesce(s.total, 0)
        || ', in ' || h.purpose || ' ' || coalesce(case h.purpose when 'available' then s.available when 'withdrawable' then s.withdrawable else s.pending end, 0)`;
const LINE_BREAKS = sql`(coalesce(s.total, 0) <> c.amount_fen
          or (c.status <> 'reversed'
              and coalesce(case h.purpose when 'available' then s.available when 'withdrawable' then s.withdrawable else s.pending end, 0) <> c.amount_fen
              and not (c.status = 'settled' and c.kind in ('commission', 'adjustment') and c.statement_id is not null
                       and coalesce(s.available, 0) = c.amount_fen and coalesce(s.withdrawable, 0) = 0)))`;

/**
 * A month-end tier true-up: each adjustment line still worth something, with its tier line and
 * the clawbacks later refunds added against either, stays within the final bracket's share (the adjustment's
 * rate: bp of its base, or fen × the units it was written on, which for a line paid at a
 * percentage are the order line's units still paid) of what the order line still paid, and names
 * a tier line of the same order line, level and beneficiary. An adjustment refunds took down to
 * 0 bounds nothing: the true-up only tops a line up, so a line at its own rate may stay above the
 * final share (a percentage of what is left can round down less than fen × the units left).
 * `which` narrows the adjustments checked (the incremental pass).
 */
const ADJUSTMENT_INVARIANT = "a tier line with its true-up adjustment stays within the final bracket's share of what its order line still paid";
function adjustmentCheck(scope: Scope, which: RawBuilder<unknown>) {
  return sql<{ subject: string; detail: string }>`select a.id as subject,
        case when c.id is null then 'adjusts ' || a.adjusts || ', which is not a tier line of the same order line, level and beneficiary'
             else 'line ' || (c.amount_fen + coalesce(k.amount, 0)) || ' + adjustment ' || (a.amount_fen + coalesce(ka.amount, 0)) || ' on base ' || (c.base_fen + coalesce(k.base, 0))
                  || ' at ' || case a.rate_kind when 'percent' then a.rate_bp || ' bp' else a.fixed_fen || ' fen × ' || a.units || ' units' end end as detail
      from commissions a
      left join commissions c on c.id = a.adjusts and c.kind = 'commission' and c.rate_source = 'tier' and c.order_item_id = a.order_item_id
                              and c.level = a.level and c.beneficiary_id = a.beneficiary_id and c.tenant_id = a.tenant_id
      left join (select x.clawback_of, sum(x.amount_fen) as amount, sum(x.base_fen) as base from commissions x
                  where x.clawback_of is not null and ${scope('x')} group by x.clawback_of) k on k.clawback_of = c.id
      left join (select x.clawback_of, sum(x.amount_fen) as amount from commissions x
                  where x.clawback_of is not null and ${scope('x')} group by x.clawback_of) ka on ka.clawback_of = a.id
      where a.kind = 'adjustment' and ${scope('a')} and ${which}
        and (c.id is null
          or a.amount_fen + coalesce(ka.amount, 0) > 0
             and c.amount_fen + coalesce(k.amount, 0) + a.amount_fen + coalesce(ka.amount, 0)
                 > case a.rate_kind when 'percent' then ((c.base_fen + coalesce(k.base, 0)) * a.rate_bp) / 10000 else a.fixed_fen * a.units end)`;
}

/**
 * A statement against its settle journals (in the statement's distributor's accounts): an
 * approved one moved from available to withdrawable exactly what its settled lines add up to,
 * counting the line-by-line legs of statements settled before 2026-12-07 (whose lines then sit in
 * withdrawable themselves); one waiting or rejected moved nothing. One grouped pass over the
 * statements, their lines and their journals' postings together (no join between aggregates: a
 * nested loop over two of them, chosen on statistics of a fresh bulk, ran for minutes). `within`
 * narrows each part (the incremental pass: the statements a new settle journal moved).
 */
function statementCheck(scope: (alias: string) => RawBuilder<unknown>, within: (column: string) => RawBuilder<unknown>) {
  return sql<{ subject: string; detail: string }>`select u.sid as subject,
        coalesce(max(u.status), 'missing') || ' statement: settled lines ' || sum(u.line) || ' fen (' || sum(u.n) || '), settle journals moved '
        || coalesce(-sum(u.amount) filter (where u.purpose = 'available'), 0) || ' fen from available, '
        || coalesce(sum(u.amount) filter (where u.purpose = 'withdrawable'), 0) || ' to withdrawable'
        || case when count(*) filter (where u.owner <> u.distributor or u.purpose not in ('available', 'withdrawable')) > 0
                then ', and postings in other accounts' else '' end as detail
      from (select s.id as sid, s.status, s.distributor_id as distributor, null::text as owner, null::text as purpose,
                   0::bigint as line, 0 as n, 0::bigint as amount
              from statements s where ${scope('s')} and ${within('s.id')}
            union all
            select x.statement_id, null, null, null, null, x.amount_fen, 1, 0
              from commissions x where ${scope('x')} and x.statement_id is not null and x.kind in ('commission', 'adjustment') and x.status = 'settled' and ${within('x.statement_id')}
            union all
            select j.ref_id, null, st.distributor_id, a.owner_id, a.purpose, 0, 0, p.amount
              from journal_entries j join statements st on st.id = j.ref_id join postings p on p.journal_id = j.id join accounts a on a.id = p.account_id
             where ${scope('j')} and j.ref_type = 'statement' and j.kind = 'settle' and ${within('j.ref_id')}) u
      group by u.sid
      having max(u.status) is null
          or count(*) filter (where u.owner <> u.distributor or u.purpose not in ('available', 'withdrawable')) > 0
          or case when max(u.status) = 'approved'
                  then coalesce(sum(u.amount) filter (where u.purpose = 'withdrawable'), 0) <> sum(u.line)
                    or coalesce(sum(u.amount) filter (where u.purpose = 'available'), 0) <> -sum(u.line)
                  else count(u.purpose) > 0 or sum(u.n) > 0 end`;
}

/** The statements a settle journal with a posting after `since` moved (the incremental pass). */
function settledSince(t: string, since: number): RawBuilder<unknown> {
  return sql`select j.ref_id from journal_entries j
      where j.tenant_id = ${t} and j.ref_type = 'statement' and j.kind = 'settle'
        and j.id in (select n.journal_id from postings n where n.tenant_id = ${t} and n.id > ${since})`;
}

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
    query: (t) => sql`select c.id as subject, ${LINE_DETAIL} as detail
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
      where ${t('c')} and ${LINE_BREAKS}`,
  },
  {
    invariant: 'each approved statement moved exactly its settled lines from available to withdrawable, and no other statement moved money',
    query: (t) => statementCheck(t, () => sql`true`),
  },
  {
    // A settled line keeps its figures; the clawbacks that later refunds added count against it.
    // Price-difference lines (agent mode) have no rate: agents/checks.ts holds them to their cost.
    invariant: "no commission line exceeds its rule's share of what its order line still paid",
    query: (t) => sql`select c.id as subject, 'amount ' || (c.amount_fen + coalesce(k.amount, 0)) || ' on base ' || (c.base_fen + coalesce(k.base, 0))
        || ' (line paid ' || i.paid_fen || ', refunded ' || i.refunded_fen || ')' as detail
      from commissions c join order_items i on i.id = c.order_item_id
      left join (select x.clawback_of, sum(x.amount_fen) as amount, sum(x.base_fen) as base from commissions x
                  where x.clawback_of is not null and ${t('x')} group by x.clawback_of) k on k.clawback_of = c.id
      where c.kind = 'commission' and c.rate_source <> 'price_difference' and ${t('c')}
        and (c.base_fen + coalesce(k.base, 0) > i.paid_fen - i.refunded_fen
          or c.amount_fen + coalesce(k.amount, 0) > case c.rate_kind when 'percent' then ((c.base_fen + coalesce(k.base, 0)) * c.rate_bp) / 10000 else c.fixed_fen * c.units end
          or c.original_amount_fen > case c.rate_kind when 'percent' then (c.original_base_fen * c.rate_bp) / 10000 else c.fixed_fen * i.quantity end)`,
  },
  {
    invariant: ADJUSTMENT_INVARIANT,
    query: (t) => adjustmentCheck(t, sql`true`),
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
    // The order path writes these rows without foreign keys (migration 2026_12_08_0001): each
    // comes from the same statement as what it points to, and this is the proof.
    invariant: 'every posting has its journal and commission line, every commission line its order and order item',
    query: (t) => sql`select p.id::text as subject, 'posting without its journal ' || p.journal_id as detail
        from postings p where ${t('p')} and not exists (select 1 from journal_entries j where j.id = p.journal_id)
      union all
      select p.id::text, 'posting without its commission line ' || p.commission_id
        from postings p where ${t('p')} and p.commission_id is not null and not exists (select 1 from commissions c where c.id = p.commission_id)
      union all
      select c.id, 'commission line without its order ' || c.order_id
        from commissions c where ${t('c')} and not exists (select 1 from orders o where o.id = c.order_id)
      union all
      select c.id, 'commission line without its order item ' || c.order_item_id
        from commissions c where ${t('c')} and c.order_item_id is not null and not exists (select 1 from order_items i where i.id = c.order_item_id)`,
  },
  {
    invariant: 'postings and journal entries are never changed (append-only triggers are in place)',
    query: () => sql`select t.name as subject, 'trigger missing' as detail
      from (values ('postings_append_only'), ('journal_entries_append_only'), ('postings_balanced')) t(name)
      where not exists (select 1 from pg_trigger g where g.tgname = t.name and not g.tgisinternal)`,
  },
];

export async function verifyLedger(
  db: Executor,
  tenantId: string | null,
  extraChecks: Check[] = [],
  onProgress?: (done: number, total: number) => void,
): Promise<VerifyReport> {
  const scope: Scope = (alias) => (tenantId === null ? sql`true` : sql`${sql.ref(`${alias}.tenant_id`)} = ${tenantId}`);
  const breaks: LedgerBreak[] = [];
  const all = [...LEDGER_CHECKS, ...extraChecks];
  let done = 0;
  for (const check of all) {
    const rows = await check.query(scope).execute(db);
    for (const r of rows.rows) breaks.push({ invariant: check.invariant, subject: r.subject, detail: r.detail });
    onProgress?.(++done, all.length);
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

/**
 * The same invariants over what was written after a checkpoint (postings with an id above
 * `since`, which only grows: see postingFence), carrying each account's balance and posting
 * count from the checkpoint (ledger_checkpoint_balances). A new journal that does not balance,
 * a posting whose balance_after is not the running balance from the checkpoint, a cached
 * balance (of any account: one query over the accounts) that is not its checkpoint balance plus
 * its new postings, a bounded account below zero, and a commission line touched by a new posting
 * that disagrees with its postings are caught as the full pass catches them. A row changed
 * before the checkpoint (postings and journals refuse it; a commission line not touched since)
 * is the full pass's to find.
 */
const INCREMENTAL_CHECKS: { invariant: string; query: (tenantId: string, since: number) => RawBuilder<{ subject: string; detail: string }> }[] = [
  {
    invariant: 'every journal balances (debits = credits)',
    query: (t, since) => sql`select p.journal_id as subject, 'off by ' || sum(p.amount) || ' fen' as detail
      from postings p where p.tenant_id = ${t}
       and p.journal_id in (select n.journal_id from postings n where n.tenant_id = ${t} and n.id > ${since})
     group by p.journal_id having sum(p.amount) <> 0`,
  },
  {
    // The checkpoint was taken on a zero trial balance: what came after it sums to zero too.
    invariant: 'the trial balance over all accounts is zero',
    query: (t, since) => sql`select ${t}::text as subject, 'off by ' || sum(p.amount) || ' fen' as detail
      from postings p where p.tenant_id = ${t} and p.id > ${since} having coalesce(sum(p.amount), 0) <> 0`,
  },
  {
    invariant: 'each cached balance equals the sum of its postings',
    query: (t, since) => sql`select a.id as subject, a.purpose || ' ' || a.owner_id || ': cached ' || a.balance
        || ', postings ' || (coalesce(c.balance, 0) + coalesce(s.total, 0))
        || ' (version ' || a.version || ', postings ' || (coalesce(c.version, 0) + coalesce(s.n, 0)) || ')' as detail
      from accounts a
      left join ledger_checkpoint_balances c on c.account_id = a.id
      left join (select account_id, sum(amount) as total, count(*) as n from postings
                  where tenant_id = ${t} and id > ${since} group by account_id) s on s.account_id = a.id
      where a.tenant_id = ${t} and a.cached
        and (a.balance <> coalesce(c.balance, 0) + coalesce(s.total, 0) or a.version <> coalesce(c.version, 0) + coalesce(s.n, 0))`,
  },
  {
    invariant: "each posting's balance_after is the running balance of its account",
    query: (t, since) => sql`select r.id::text as subject, 'balance_after ' || r.balance_after || ', running ' || r.running as detail
      from (select p.id, p.balance_after, coalesce(c.balance, 0) + sum(p.amount) over (partition by p.account_id order by p.id) as running
              from postings p join accounts a on a.id = p.account_id
              left join ledger_checkpoint_balances c on c.account_id = p.account_id
             where a.cached and p.tenant_id = ${t} and p.id > ${since}) r
      where r.balance_after is distinct from r.running`,
  },
  {
    invariant: 'every posting has its journal and commission line, every commission line its order and order item',
    query: (t, since) => sql`select p.id::text as subject, 'posting without its journal ' || p.journal_id as detail
        from postings p where p.tenant_id = ${t} and p.id > ${since} and not exists (select 1 from journal_entries j where j.id = p.journal_id)
      union all
      select p.id::text, 'posting without its commission line ' || p.commission_id
        from postings p where p.tenant_id = ${t} and p.id > ${since} and p.commission_id is not null
         and not exists (select 1 from commissions c where c.id = p.commission_id)
      union all
      select c.id, 'commission line without its order or order item ' || c.order_id
        from commissions c
       where c.id in (select n.commission_id from postings n where n.tenant_id = ${t} and n.id > ${since} and n.commission_id is not null)
         and (not exists (select 1 from orders o where o.id = c.order_id)
              or (c.order_item_id is not null and not exists (select 1 from order_items i where i.id = c.order_item_id)))`,
  },
  {
    invariant: 'no bounded account is below zero',
    query: (t) => sql`select a.id as subject, a.purpose || ' of ' || a.owner_id || ' is ' || a.balance as detail
      from accounts a where a.bounded and a.balance < 0 and a.tenant_id = ${t}`,
  },
  {
    invariant: "each commission line's postings add up to its amount, in the account of its status",
    // The lines a new posting names, and the lines of statements a new settle journal moved.
    query: (t, since) => sql`with touched as (
        select n.commission_id as id from postings n where n.tenant_id = ${t} and n.id > ${since} and n.commission_id is not null
        union select x.id from commissions x where x.tenant_id = ${t} and x.statement_id in (${settledSince(t, since)}))
      select c.id as subject, ${LINE_DETAIL} as detail
      from commissions c
      cross join lateral (select case c.status when 'available' then 'available' when 'settled' then 'withdrawable' else 'pending' end as purpose) h
      left join (
        select p.commission_id, sum(p.amount) as total,
               sum(p.amount) filter (where a.purpose = 'pending') as pending,
               sum(p.amount) filter (where a.purpose = 'available') as available,
               sum(p.amount) filter (where a.purpose = 'withdrawable') as withdrawable
          from postings p join accounts a on a.id = p.account_id
         where a.owner_type = 'distributor' and p.tenant_id = ${t} and p.commission_id in (select id from touched)
         group by p.commission_id) s on s.commission_id = c.id
      where c.tenant_id = ${t} and c.id in (select id from touched) and ${LINE_BREAKS}`,
  },
  {
    invariant: 'each approved statement moved exactly its settled lines from available to withdrawable, and no other statement moved money',
    query: (t, since) =>
      statementCheck(
        (alias) => sql`${sql.ref(`${alias}.tenant_id`)} = ${t}`,
        (column) => sql`${sql.ref(column)} in (${settledSince(t, since)})`,
      ),
  },
  {
    invariant: "no commission line exceeds its rule's share of what its order line still paid",
    query: (t, since) => sql`with touched as (
        select n.commission_id as id from postings n where n.tenant_id = ${t} and n.id > ${since} and n.commission_id is not null
        union select x.clawback_of from commissions x
         where x.tenant_id = ${t} and x.clawback_of is not null
           and x.id in (select n.commission_id from postings n where n.tenant_id = ${t} and n.id > ${since} and n.commission_id is not null))
      select c.id as subject, 'amount ' || (c.amount_fen + coalesce(k.amount, 0)) || ' on base ' || (c.base_fen + coalesce(k.base, 0))
        || ' (line paid ' || i.paid_fen || ', refunded ' || i.refunded_fen || ')' as detail
      from commissions c join order_items i on i.id = c.order_item_id
      left join (select x.clawback_of, sum(x.amount_fen) as amount, sum(x.base_fen) as base from commissions x
                  where x.clawback_of in (select id from touched) and x.tenant_id = ${t} group by x.clawback_of) k on k.clawback_of = c.id
      where c.kind = 'commission' and c.rate_source <> 'price_difference' and c.tenant_id = ${t} and c.id in (select id from touched)
        and (c.base_fen + coalesce(k.base, 0) > i.paid_fen - i.refunded_fen
          or c.amount_fen + coalesce(k.amount, 0) > case c.rate_kind when 'percent' then ((c.base_fen + coalesce(k.base, 0)) * c.rate_bp) / 10000 else c.fixed_fen * c.units end
          or c.original_amount_fen > case c.rate_kind when 'percent' then (c.original_base_fen * c.rate_bp) / 10000 else c.fixed_fen * i.quantity end)`,
  },
  {
    invariant: ADJUSTMENT_INVARIANT,
    // The adjustments posted since, and those whose tier line a later posting (a refund, a clawback) touched.
    query: (t, since) =>
      adjustmentCheck(
        (alias) => sql`${sql.ref(`${alias}.tenant_id`)} = ${t}`,
        sql`(a.id in (select n.commission_id from postings n where n.tenant_id = ${t} and n.id > ${since} and n.commission_id is not null)
          or a.adjusts in (select n.commission_id from postings n where n.tenant_id = ${t} and n.id > ${since} and n.commission_id is not null)
          or a.id in (select x.clawback_of from commissions x where x.tenant_id = ${t} and x.clawback_of is not null
                        and x.id in (select n.commission_id from postings n where n.tenant_id = ${t} and n.id > ${since} and n.commission_id is not null))
          or a.adjusts in (select x.clawback_of from commissions x where x.tenant_id = ${t} and x.clawback_of is not null
                             and x.id in (select n.commission_id from postings n where n.tenant_id = ${t} and n.id > ${since} and n.commission_id is not null)))`,
      ),
  },
];

/** The full-pass invariants the incremental pass does not restate (each sums a tenant's whole history). */
export const FULL_ONLY_INVARIANTS = LEDGER_CHECKS.map((c) => c.invariant).filter(
  (i) => !INCREMENTAL_CHECKS.some((c) => c.invariant === i) && !i.startsWith('postings and journal'),
);

/**
 * Waits until no transaction still writing postings is in flight (a SHARE lock on postings, held
 * for an instant: writers queue behind it meanwhile) and answers the tenant's highest posting id.
 * Every posting up to it is committed, and every later one gets a higher id, so a checkpoint at it
 * misses nothing that commits late (a bare max(id) could: ids are drawn before commit). A writer
 * holding postings longer than `waitMs` (a large settlement transaction) is not waited for, since
 * every writer would queue behind the wait: then null, and the pass checks without moving the
 * checkpoint.
 */
export async function postingFence(db: Db, tenantId: string, waitMs = 2000): Promise<number | null> {
  try {
    return await db.transaction().execute(async (tx) => {
      await sql.raw(`set local lock_timeout = ${Math.max(1, Math.floor(waitMs))}`).execute(tx);
      await sql`lock table postings in share mode`.execute(tx);
      const r = await sql<{ id: string | number | null }>`select max(id) as id from postings where tenant_id = ${tenantId}`.execute(tx);
      return Number(r.rows[0]?.id ?? 0);
    });
  } catch (err) {
    if ((err as { code?: unknown }).code === '55P03') return null;
    throw err;
  }
}

/** The incremental pass for one tenant from the checkpoint at posting `since` (see INCREMENTAL_CHECKS). */
export async function verifyLedgerSince(
  db: Executor,
  tenantId: string,
  since: number,
  extraChecks: Check[] = [],
  onProgress?: (done: number, total: number) => void,
): Promise<IncrementalReport> {
  const breaks: LedgerBreak[] = [];
  const scope: Scope = (alias) => sql`${sql.ref(`${alias}.tenant_id`)} = ${tenantId}`;
  const all = [
    ...INCREMENTAL_CHECKS.map((c) => ({ invariant: c.invariant, query: () => c.query(tenantId, since) })),
    ...LEDGER_CHECKS.filter((c) => c.invariant.startsWith('postings and journal')).map((c) => ({ invariant: c.invariant, query: () => c.query(scope) })),
    // Checks other modules own (withdrawals and payouts against the ledger) run whole.
    ...extraChecks.map((c) => ({ invariant: c.invariant, query: () => c.query(scope) })),
  ];
  let done = 0;
  for (const check of all) {
    const rows = await check.query().execute(db);
    for (const r of rows.rows) breaks.push({ invariant: check.invariant, subject: r.subject, detail: r.detail });
    onProgress?.(++done, all.length);
  }
  const counts = await sql<{ journals: string | number; postings: string | number; accounts: string | number; commissions: string | number }>`
    select (select count(distinct journal_id) from postings where tenant_id = ${tenantId} and id > ${since}) as journals,
           (select count(*) from postings where tenant_id = ${tenantId} and id > ${since}) as postings,
           (select count(*) from accounts where tenant_id = ${tenantId}) as accounts,
           (select count(distinct commission_id) from postings where tenant_id = ${tenantId} and id > ${since} and commission_id is not null) as commissions`.execute(
    db,
  );
  const c = counts.rows[0];
  return {
    ok: breaks.length === 0,
    tenant_id: tenantId,
    checked: {
      journals: Number(c?.journals ?? 0),
      postings: Number(c?.postings ?? 0),
      accounts: Number(c?.accounts ?? 0),
      commissions: Number(c?.commissions ?? 0),
    },
    breaks,
    since_posting_id: since,
    full_only: FULL_ONLY_INVARIANTS,
  };
}

export type { Check as LedgerCheck };
