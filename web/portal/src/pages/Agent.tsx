import { useCallback, useEffect, useState } from 'react';
import { Button, Card, ErrorBlock, Form, Grid, Input, List, Selector, Space, Tag, Toast } from 'antd-mobile';
import { useNavigate } from 'react-router-dom';
import { formatYuan } from '../../../shared/format.ts';
import { useLastDays } from '../../../shared/last-days.ts';
import type { Page, TerritorySales } from '../../../shared/types.ts';
import { ColumnChart } from '../components/column-chart.tsx';
import { figureCell, Money } from '../components/money.tsx';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';
import { AgentApply } from './AgentApply.tsx';

interface Agent {
  id: string;
  distributor_id: string;
  rank: 'province' | 'city' | 'district';
  region_code: string;
  region_full_name: string;
  status: 'active' | 'suspended' | 'ended';
}
interface StockItem {
  sku: string;
  quantity: number;
  value_fen: number;
}
interface PurchaseOrder {
  id: string;
  status: 'pending_payment' | 'paid';
  amount_fen: number;
  items: { sku: string; quantity: number; unit_price_fen: number }[];
  created_at: string;
}

const RANGES = [7, 30, 90] as const;
type Days = (typeof RANGES)[number];

/** The distributor's agencies (its own only: the server scopes a portal session to them). */
function useAgents() {
  const { api } = useSession();
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    api.get<Page<Agent>>('/v1/agents').then(
      (p) => setAgents(p.items.filter((a) => a.status !== 'ended')),
      () => setAgents([]),
    );
  }, [api, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { agents, reload };
}

/** On the home page: a way to the agent page, shown only to an agent. */
export function AgentEntry() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const { api } = useSession();
  const { agents } = useAgents();
  const [programOn, setProgramOn] = useState(false);
  useEffect(() => {
    api.get<{ enabled: boolean }>('/v1/agent-program').then(
      (p) => setProgramOn(p.enabled),
      () => setProgramOn(false),
    );
  }, [api]);
  const first = agents?.[0];
  if (agents === null) return null;
  if (!first)
    return programOn ? (
      <Card title={t('agent.applyEntry')} onClick={() => navigate('/agent')} data-testid="agent-apply-entry">
        <Button size="small" fill="none" color="primary" style={{ paddingInline: 0 }}>
          {t('agent.apply')}
        </Button>
      </Card>
    ) : null;
  return (
    <Card title={t('agent.entry', { region: first.region_full_name })} onClick={() => navigate('/agent')} data-testid="agent-entry">
      <Button size="small" fill="none" color="primary" style={{ paddingInline: 0 }}>
        {t('agent.open')}
      </Button>
    </Card>
  );
}

/**
 * The territory's sales and the agent's earnings over the last 7, 30 or 90 days (the server's
 * territory report for this agent): orders shipped there, territory commission by status, price
 * differences, a chart by day, and the stock with its slow-moving part.
 */
function TerritorySalesCard({ agentId, version }: { agentId: string; version: number }) {
  const { t } = useI18n();
  const { api } = useSession();
  const [days, setDays] = useState<Days>(30);
  const { data: sales, error } = useLastDays(
    (query) => api.get<TerritorySales>(`/v1/agents/${agentId}/territory-sales`, query),
    days,
    `${agentId}|${version}`,
    messageOf,
  );

  return (
    <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t('agent.sales')}</h2>} data-testid="agent-sales">
      <Selector
        aria-label={t('agent.salesRange')}
        columns={3}
        value={[days]}
        onChange={(v) => v[0] && setDays(v[0])}
        options={RANGES.map((d) => ({ value: d, label: t(`agent.days${d}`) }))}
      />
      {error && <ErrorBlock status="default" title={t('common.error', { message: error })} />}
      {sales && (
        <>
          <div style={{ color: '#666', fontSize: 13, margin: '8px 0' }} data-testid="agent-sales-range">
            {t('agent.range', { from: sales.range.from, to: sales.range.to })}
          </div>
          <Grid columns={3} gap={12}>
            {figureCell(t('agent.orderCount'), sales.orders, 'agent-sales-orders')}
            {figureCell(t('agent.salesAmount'), <Money fen={sales.sales_fen} />, 'agent-sales-amount')}
            {figureCell(t('agent.refunded'), <Money fen={sales.refunded_fen} />, 'agent-sales-refunded')}
          </Grid>
          <List header={t('agent.earnings')} style={{ marginTop: 12 }}>
            <List.Item
              extra={<Money fen={sales.territory_commission_fen} strong testId="agent-territory-earnings" />}
              description={t('agent.byStatus', {
                pending: formatYuan(sales.territory_commission.pending_fen),
                available: formatYuan(sales.territory_commission.available_fen),
                settled: formatYuan(sales.territory_commission.settled_fen),
              })}
            >
              {t('agent.territoryEarnings')}
            </List.Item>
            <List.Item extra={<Money fen={sales.price_difference_fen} strong testId="agent-diff-earnings" />}>{t('agent.diffEarnings')}</List.Item>
          </List>
          <div style={{ marginTop: 12, color: '#666', fontSize: 13 }}>{t('agent.salesByDay')}</div>
          {sales.points.some((p) => p.sales_fen !== 0) ? (
            <ColumnChart points={sales.points.map((p) => ({ period: p.period, fen: p.sales_fen }))} label={t('agent.salesByDay')} testId="agent-sales-chart" />
          ) : (
            <div style={{ color: '#999', padding: '12px 0' }}>{t('agent.noSales')}</div>
          )}
          <div style={{ marginTop: 12, color: '#666', fontSize: 13 }}>{t('agent.earningsByDay')}</div>
          {sales.points.some((p) => p.territory_commission_fen + p.price_difference_fen !== 0) ? (
            <ColumnChart
              points={sales.points.map((p) => ({ period: p.period, fen: p.territory_commission_fen + p.price_difference_fen }))}
              label={t('agent.earningsByDay')}
              testId="agent-earnings-chart"
              color="#e66f3c"
            />
          ) : (
            <div style={{ color: '#999', padding: '12px 0' }}>{t('agent.noSales')}</div>
          )}
          <List header={t('agent.stockValue')} style={{ marginTop: 12 }}>
            <List.Item extra={<Money fen={sales.stock_value_fen} testId="agent-stock-value" />}>{t('agent.units', { n: sales.stock_units })}</List.Item>
            <List.Item
              extra={<Money fen={sales.slow_value_fen} testId="agent-slow-value" />}
              description={t('agent.slowHint', { days: sales.slow_days })}
              data-testid="agent-slow"
            >
              {sales.slow_units > 0 ? <Tag color="warning">{t('agent.slow', { n: sales.slow_units })}</Tag> : t('agent.slow', { n: 0 })}
            </List.Item>
          </List>
        </>
      )}
    </Card>
  );
}

export function AgentPage() {
  const { t } = useI18n();
  const { api } = useSession();
  const { agents, reload } = useAgents();
  // A distributor may hold several territories: one at a time, the first unless another is chosen.
  const [chosen, setChosen] = useState<string | null>(null);
  const agent = agents?.find((a) => a.id === chosen) ?? agents?.[0];
  const [stock, setStock] = useState<StockItem[]>([]);
  const [orders, setOrders] = useState<PurchaseOrder[]>([]);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [sku, setSku] = useState('');
  const [quantity, setQuantity] = useState('1');
  const [backSku, setBackSku] = useState('');
  const [backQuantity, setBackQuantity] = useState('1');
  const [buybackDays, setBuybackDays] = useState(30);

  const load = useCallback(async () => {
    if (!agent) return;
    try {
      const [inv, pos] = await Promise.all([
        api.get<{ items: StockItem[] }>(`/v1/agents/${agent.id}/inventory`),
        api.get<Page<PurchaseOrder>>('/v1/purchase-orders', { agent_id: agent.id }),
      ]);
      setStock(inv.items.filter((i) => i.quantity > 0));
      setOrders(pos.items);
    } catch (err) {
      setError(messageOf(err));
    }
  }, [api, agent]);
  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    api.get<{ buyback_days: number }>('/v1/agent-program').then(
      (p) => setBuybackDays(p.buyback_days),
      () => undefined,
    );
  }, [api]);

  if (agents === null) return null;
  if (!agent) return <AgentApply onApproved={reload} />;
  if (error) return <ErrorBlock status="default" title={t('common.error', { message: error })} />;

  async function order() {
    if (!agent || !sku.trim()) return;
    try {
      const po = await api.post<PurchaseOrder>(
        '/v1/purchase-orders',
        { agent_id: agent.id, items: [{ sku: sku.trim(), quantity: Number(quantity) }] },
        { headers: { 'Idempotency-Key': `portal-${Date.now()}-${Math.random().toString(36).slice(2)}` } },
      );
      Toast.show({ content: t('agent.ordered', { amount: formatYuan(po.amount_fen) }) });
      setSku('');
      await load();
      setVersion((v) => v + 1);
    } catch (err) {
      Toast.show({ content: t('common.error', { message: messageOf(err) }) });
    }
  }
  async function buyback() {
    if (!agent || !backSku.trim()) return;
    try {
      const r = await api.post<{ amount_fen: number }>(`/v1/agents/${agent.id}/stock-returns`, {
        items: [{ sku: backSku.trim(), quantity: Number(backQuantity) }],
      });
      Toast.show({ content: t('agent.buybackDone', { amount: formatYuan(r.amount_fen) }) });
      setBackSku('');
      await load();
      setVersion((v) => v + 1);
    } catch (err) {
      Toast.show({ content: t('common.error', { message: messageOf(err) }) });
    }
  }

  return (
    <Space direction="vertical" block style={{ padding: 12 }}>
      <Card title={t('agent.territory')}>
        {agents.length > 1 && (
          <Selector
            aria-label={t('agent.choose')}
            columns={1}
            value={[agent.id]}
            onChange={(v) => v[0] && setChosen(v[0])}
            options={agents.map((a) => ({ value: a.id, label: `${a.region_full_name} · ${t(`agent.rank.${a.rank}`)}` }))}
            data-testid="agent-switch"
            style={{ marginBottom: 12 }}
          />
        )}
        <p style={{ margin: 0, fontSize: 18 }} data-testid="agent-territory">
          {agent.region_full_name}
        </p>
        <Space style={{ marginTop: 8 }}>
          <Tag color="primary">{t(`agent.rank.${agent.rank}`)}</Tag>
          <Tag color={agent.status === 'active' ? 'success' : 'warning'}>{t(`agent.status.${agent.status}`)}</Tag>
        </Space>
      </Card>
      <TerritorySalesCard key={agent.id} agentId={agent.id} version={version} />
      <Card title={t('agent.stock')}>
        <List data-testid="agent-stock">
          {stock.length === 0 && <List.Item>{t('agent.stockEmpty')}</List.Item>}
          {stock.map((s) => (
            <List.Item key={s.sku} description={t('agent.cost', { amount: formatYuan(s.value_fen) })} extra={t('agent.units', { n: s.quantity })}>
              {s.sku}
            </List.Item>
          ))}
        </List>
      </Card>
      <Card title={t('agent.purchase')}>
        <Form layout="horizontal">
          <Form.Item label={t('agent.sku')}>
            <Input value={sku} onChange={setSku} aria-label={t('agent.sku')} data-testid="po-sku" />
          </Form.Item>
          <Form.Item label={t('agent.quantity')}>
            <Input
              type="number"
              inputMode="numeric"
              min={1}
              value={quantity}
              onChange={setQuantity}
              aria-label={t('agent.quantity')}
              data-testid="po-quantity"
            />
          </Form.Item>
        </Form>
        <Button block color="primary" onClick={() => void order()} data-testid="po-submit">
          {t('agent.placeOrder')}
        </Button>
      </Card>
      <Card title={t('agent.orders')}>
        <List data-testid="agent-orders">
          {orders.length === 0 && <List.Item>{t('agent.ordersEmpty')}</List.Item>}
          {orders.map((o) => (
            <List.Item
              key={o.id}
              description={o.items.map((i) => `${i.sku} × ${i.quantity}`).join('，')}
              extra={<Tag color={o.status === 'paid' ? 'success' : 'warning'}>{t(`agent.po.${o.status}`)}</Tag>}
            >
              {formatYuan(o.amount_fen)}
            </List.Item>
          ))}
        </List>
      </Card>
      <Card title={t('agent.buyback')}>
        <p style={{ marginTop: 0, color: '#555' }}>{t('agent.buybackHint', { days: buybackDays })}</p>
        <Form layout="horizontal">
          <Form.Item label={t('agent.sku')}>
            <Input value={backSku} onChange={setBackSku} aria-label={`${t('agent.buyback')} ${t('agent.sku')}`} data-testid="buyback-sku" />
          </Form.Item>
          <Form.Item label={t('agent.quantity')}>
            <Input
              type="number"
              inputMode="numeric"
              min={1}
              value={backQuantity}
              onChange={setBackQuantity}
              aria-label={`${t('agent.buyback')} ${t('agent.quantity')}`}
              data-testid="buyback-quantity"
            />
          </Form.Item>
        </Form>
        <Button block onClick={() => void buyback()} data-testid="buyback-submit">
          {t('agent.buyback')}
        </Button>
      </Card>
    </Space>
  );
}
