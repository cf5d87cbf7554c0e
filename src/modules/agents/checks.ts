import { sql } from 'kysely';
import type { LedgerCheck } from '../ledger/verify.ts';

/**
 * Agent mode's invariants, run by `ledger verify` with the ledger's own: stock is the sum of its
 * movements, an agent's stock account is what the units it holds cost, the merchant's account of
 * stock sold is what orders took, its account of stock corrections is what stocktakes found missing, and a price-difference line is never more than its order line
 * still paid less what its units still sold cost.
 */
export const AGENT_LEDGER_CHECKS: LedgerCheck[] = [
  {
    invariant: "agents: each stock lot's remaining units equal the sum of its movements",
    query: (t) => sql`select l.id as subject, 'remaining ' || l.remaining || ', movements ' || coalesce(m.total, 0) as detail
      from agent_stock_lots l
      left join (select lot_id, sum(quantity) as total from agent_stock_movements group by lot_id) m on m.lot_id = l.id
      where ${t('l')} and l.remaining <> coalesce(m.total, 0)`,
  },
  {
    invariant: "agents: each agent's stock account equals what the units it holds cost",
    query: (t) => sql`select a.owner_id as subject, 'agent_stock ' || a.balance || ', units held cost ' || coalesce(v.value, 0) as detail
      from accounts a
      left join (select g.distributor_id, sum(l.remaining * l.unit_cost_fen) as value
                   from agent_stock_lots l join agents g on g.id = l.agent_id where ${t('l')} group by g.distributor_id) v
        on v.distributor_id = a.owner_id
      where a.purpose = 'agent_stock' and ${t('a')} and a.balance <> coalesce(v.value, 0)`,
  },
  {
    invariant: "agents: the merchant's stock-sold account equals the cost of the units orders took",
    query: (t) => sql`select x.tenant_id as subject, 'agent_stock_sold ' || x.total || ', units sold cost ' || coalesce(y.cost, 0) as detail
      from (select a.tenant_id, sum(p.amount) as total from postings p join accounts a on a.id = p.account_id
             where a.owner_id = 'tenant' and a.purpose = 'agent_stock_sold' and ${t('a')} group by a.tenant_id) x
      left join (select tenant_id, -sum(quantity * unit_cost_fen) as cost from agent_stock_movements
                  where kind in ('sale', 'refund_return') group by tenant_id) y on y.tenant_id = x.tenant_id
      where x.total <> coalesce(y.cost, 0)`,
  },
  {
    invariant: "agents: the merchant's stock-corrections account equals the cost of the units stocktakes found missing",
    query: (t) => sql`select x.tenant_id as subject, 'agent_stock_corrections ' || x.total || ', missing units cost ' || coalesce(y.cost, 0) as detail
      from (select a.tenant_id, sum(p.amount) as total from postings p join accounts a on a.id = p.account_id
             where a.owner_id = 'tenant' and a.purpose = 'agent_stock_corrections' and ${t('a')} group by a.tenant_id) x
      left join (select tenant_id, -sum(quantity * unit_cost_fen) as cost from agent_stock_movements
                  where kind = 'correction' group by tenant_id) y on y.tenant_id = x.tenant_id
      where x.total <> coalesce(y.cost, 0)`,
  },
  {
    invariant: 'agents: no price-difference line exceeds what its order line still paid less what its units still sold cost',
    query: (
      t,
    ) => sql`select c.id as subject, 'amount ' || (c.amount_fen + coalesce(k.amount, 0)) || ' (line paid ' || i.paid_fen || ', refunded ' || i.refunded_fen
        || ', units cost ' || coalesce(m.cost, 0) || ')' as detail
      from commissions c join order_items i on i.id = c.order_item_id
      left join (select x.clawback_of, sum(x.amount_fen) as amount from commissions x where x.clawback_of is not null and ${t('x')} group by x.clawback_of) k
        on k.clawback_of = c.id
      left join (select order_item_id, -sum(quantity * unit_cost_fen) as cost, -sum(quantity * unit_cost_fen) filter (where kind = 'sale') as sold_cost
                   from agent_stock_movements where order_item_id is not null group by order_item_id) m
        on m.order_item_id = c.order_item_id
      where c.kind = 'commission' and c.rate_source = 'price_difference' and ${t('c')}
        and (c.amount_fen + coalesce(k.amount, 0) > greatest(0, (i.paid_fen - i.refunded_fen) - coalesce(m.cost, 0))
          or c.original_amount_fen > greatest(0, i.paid_fen - coalesce(m.sold_cost, 0)))`,
  },
];
