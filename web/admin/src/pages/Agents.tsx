import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Card, Descriptions, Form, Input, InputNumber, Select, Space, Switch, Table, Tabs, Tag, Typography } from 'antd';
import { formatYuan, hundredths, newIdempotencyKey } from '../../../shared/format.ts';
import { useLastDays } from '../../../shared/last-days.ts';
import type { TerritorySales } from '../../../shared/types.ts';
import { Chart } from '../components/Chart.tsx';
import { messageOf } from '../components/errors.ts';
import { DistributorLink, ReasonDialog } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import type { MessageKey } from '../messages.ts';
import { useAuthed } from '../session.tsx';
import { ApplicationsTab } from './AgentApplications.tsx';

interface AgentProgram {
  enabled: boolean;
  territory_bp: { province: number; city: number; district: number };
  buyback_days: number;
}
interface Agent {
  id: string;
  distributor_id: string;
  rank: 'province' | 'city' | 'district';
  region_code: string;
  region_name: string;
  region_full_name: string;
  status: 'active' | 'suspended' | 'ended';
  status_reason: string | null;
  created_at: string;
}
interface Price {
  sku: string;
  retail_fen: number;
  province_fen: number;
  city_fen: number;
  district_fen: number;
}
interface PurchaseOrder {
  id: string;
  agent_id: string;
  status: 'pending_payment' | 'paid';
  amount_fen: number;
  items: { sku: string; quantity: number; unit_price_fen: number }[];
  reference: string | null;
  created_at: string;
}
interface StockItem {
  sku: string;
  quantity: number;
  value_fen: number;
  oldest_acquired_at: string | null;
}
interface Movement {
  id: number;
  sku: string;
  kind: string;
  quantity: number;
  unit_cost_fen: number;
  ref_id: string;
  reason: string | null;
  created_at: string;
}

const toFen = (yuan: number | null | undefined) => Math.round((yuan ?? 0) * 100);
/** Slow-moving stock (囤货): units bought this many days ago and still held. */
const SLOW_DAYS = 60;

function useLoad<T>(path: string | null, initial: T): [T, () => void] {
  const { api } = useAuthed();
  const { message } = App.useApp();
  const { t } = useI18n();
  const [value, setValue] = useState<T>(initial);
  const load = useCallback(() => {
    if (!path) return;
    api.get<T>(path).then(setValue, (err: unknown) => void message.error(t('common.error', { message: messageOf(err) })));
  }, [api, path, message, t]);
  useEffect(load, [load]);
  return [value, load];
}

function ProgramTab() {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ enabled: boolean; province: number; city: number; district: number; buyback_days: number }>();
  const [program, reload] = useLoad<AgentProgram | null>('/v1/agent-program', null);
  useEffect(() => {
    if (program)
      form.setFieldsValue({
        enabled: program.enabled,
        province: program.territory_bp.province / 100,
        city: program.territory_bp.city / 100,
        district: program.territory_bp.district / 100,
        buyback_days: program.buyback_days,
      });
  }, [program, form]);
  async function save() {
    const v = await form.validateFields();
    try {
      await api.put('/v1/agent-program', {
        enabled: v.enabled,
        territory_bp: { province: toFen(v.province), city: toFen(v.city), district: toFen(v.district) },
        buyback_days: v.buyback_days,
      });
      void message.success(t('common.saved'));
      reload();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }
  return (
    <Card>
      <Alert type="info" showIcon message={t('agents.program.hint')} style={{ marginBottom: 16 }} />
      <Form form={form} name="agentProgram" layout="vertical" disabled={!can('program:write')} style={{ maxWidth: 480 }}>
        <Form.Item name="enabled" label={t('agents.program.enabled')} valuePropName="checked">
          <Switch />
        </Form.Item>
        {(['province', 'city', 'district'] as const).map((rank) => (
          <Form.Item key={rank} name={rank} label={t(`agents.program.${rank}`)} rules={[{ required: true }]}>
            <InputNumber min={0} max={100} precision={2} addonAfter="%" style={{ width: 200 }} />
          </Form.Item>
        ))}
        <Form.Item name="buyback_days" label={t('agents.program.buyback')} rules={[{ required: true }]}>
          <InputNumber min={0} max={3650} precision={0} style={{ width: 200 }} />
        </Form.Item>
        <Button type="primary" onClick={() => void save()} data-testid="agent-program-save">
          {t('common.save')}
        </Button>
      </Form>
    </Card>
  );
}

function AgentsTab({ agents, reload }: { agents: Agent[]; reload: () => void }) {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ distributor_id: string; rank: Agent['rank']; region_code: string }>();
  const [acting, setActing] = useState<{ agent: Agent; to: 'suspend' | 'reinstate' } | null>(null);
  const writable = can('distributors:write');
  async function appoint() {
    const v = await form.validateFields();
    try {
      const a = await api.post<Agent>('/v1/agents', { distributor_id: v.distributor_id.trim(), rank: v.rank, region_code: v.region_code.trim() });
      void message.success(t('agents.appointed', { region: a.region_full_name }));
      form.resetFields();
      reload();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }
  return (
    <Space direction="vertical" style={{ width: '100%' }} size="large">
      {writable && (
        <Card title={t('agents.appoint')}>
          <Form form={form} name="appointAgent" layout="inline" initialValues={{ rank: 'district' }}>
            <Form.Item name="distributor_id" label={t('agents.distributorId')} rules={[{ required: true }]}>
              <Input style={{ width: 260 }} />
            </Form.Item>
            <Form.Item name="rank" label={t('agents.rank')}>
              <Select style={{ width: 120 }} options={(['province', 'city', 'district'] as const).map((r) => ({ value: r, label: t(`agents.rank.${r}`) }))} />
            </Form.Item>
            <Form.Item name="region_code" label={t('agents.regionCode')} rules={[{ required: true, pattern: /^[0-9]{6}$/ }]}>
              <Input style={{ width: 120 }} />
            </Form.Item>
            <Button type="primary" onClick={() => void appoint()} data-testid="appoint-agent">
              {t('agents.appoint')}
            </Button>
          </Form>
        </Card>
      )}
      <Table<Agent>
        rowKey="id"
        dataSource={agents}
        pagination={false}
        data-testid="agents-table"
        columns={[
          { title: t('agents.region'), render: (_, a) => `${a.region_full_name}（${a.region_code}）` },
          { title: t('agents.rank'), render: (_, a) => t(`agents.rank.${a.rank}`) },
          { title: t('agents.distributor'), render: (_, a) => <DistributorLink id={a.distributor_id} /> },
          {
            title: t('agents.status'),
            render: (_, a) => (
              <Space>
                <Tag color={a.status === 'active' ? 'green' : a.status === 'suspended' ? 'orange' : 'default'}>{t(`agents.status.${a.status}`)}</Tag>
                {a.status_reason && <Typography.Text type="secondary">{a.status_reason}</Typography.Text>}
              </Space>
            ),
          },
          {
            title: t('common.actions'),
            render: (_, a) =>
              writable && a.status !== 'ended' ? (
                <Button size="small" onClick={() => setActing({ agent: a, to: a.status === 'active' ? 'suspend' : 'reinstate' })}>
                  {t(a.status === 'active' ? 'agents.suspend' : 'agents.reinstate')}
                </Button>
              ) : null,
          },
        ]}
      />
      <ReasonDialog
        open={acting !== null}
        title={acting ? t(acting.to === 'suspend' ? 'agents.suspendTitle' : 'agents.reinstateTitle', { region: acting.agent.region_full_name }) : ''}
        fields={[{ name: 'reason', label: t('common.reason'), required: true, max: 500 }]}
        danger={acting?.to === 'suspend'}
        onSubmit={async (v) => {
          if (!acting) return;
          await api.post(`/v1/agents/${acting.agent.id}/${acting.to}`, { reason: v.reason });
          reload();
        }}
        onClose={() => setActing(null)}
      />
    </Space>
  );
}

function PricesTab() {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [prices, reload] = useLoad<{ items: Price[] }>('/v1/agent-prices', { items: [] });
  const [form] = Form.useForm<{ sku: string; retail: number; province: number; city: number; district: number }>();
  async function save() {
    const v = await form.validateFields();
    try {
      await api.put(`/v1/agent-prices/${encodeURIComponent(v.sku.trim())}`, {
        retail_fen: toFen(v.retail),
        province_fen: toFen(v.province),
        city_fen: toFen(v.city),
        district_fen: toFen(v.district),
      });
      void message.success(t('common.saved'));
      reload();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }
  return (
    <Space direction="vertical" style={{ width: '100%' }} size="large">
      {can('program:write') && (
        <Card extra={<Typography.Text type="secondary">{t('agents.priceOrder')}</Typography.Text>}>
          <Form form={form} name="agentPrice" layout="inline">
            <Form.Item name="sku" label={t('agents.sku')} rules={[{ required: true }]}>
              <Input style={{ width: 140 }} />
            </Form.Item>
            {(
              [
                ['province', 'agents.priceProvince'],
                ['city', 'agents.priceCity'],
                ['district', 'agents.priceDistrict'],
                ['retail', 'agents.retail'],
              ] as const
            ).map(([name, label]) => (
              <Form.Item key={name} name={name} label={t(label)} rules={[{ required: true }]}>
                <InputNumber min={0} precision={2} addonAfter={t('common.yuan')} style={{ width: 150 }} />
              </Form.Item>
            ))}
            <Button type="primary" onClick={() => void save()} data-testid="save-price">
              {t('agents.setPrice')}
            </Button>
          </Form>
        </Card>
      )}
      <Table<Price>
        rowKey="sku"
        dataSource={prices.items}
        pagination={false}
        data-testid="prices-table"
        columns={[
          { title: t('agents.sku'), dataIndex: 'sku' },
          { title: t('agents.priceProvince'), render: (_, p) => formatYuan(p.province_fen) },
          { title: t('agents.priceCity'), render: (_, p) => formatYuan(p.city_fen) },
          { title: t('agents.priceDistrict'), render: (_, p) => formatYuan(p.district_fen) },
          { title: t('agents.retail'), render: (_, p) => formatYuan(p.retail_fen) },
        ]}
      />
    </Space>
  );
}

function PurchasesTab({ agents }: { agents: Agent[] }) {
  const { t } = useI18n();
  const { api, can, session } = useAuthed();
  const { message } = App.useApp();
  const [orders, reload] = useLoad<{ items: PurchaseOrder[] }>('/v1/purchase-orders', { items: [] });
  const [form] = Form.useForm<{ agent_id: string; sku: string; quantity: number }>();
  const [paying, setPaying] = useState<PurchaseOrder | null>(null);
  const regionOf = (id: string) => agents.find((a) => a.id === id)?.region_full_name ?? id;
  async function create() {
    const v = await form.validateFields();
    try {
      const po = await api.post<PurchaseOrder>(
        '/v1/purchase-orders',
        { agent_id: v.agent_id, items: [{ sku: v.sku.trim(), quantity: v.quantity }] },
        { headers: { 'Idempotency-Key': `console-${Date.now()}-${Math.random().toString(36).slice(2)}` } },
      );
      void message.success(t('agents.po.created', { amount: formatYuan(po.amount_fen) }));
      reload();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }
  // Where a payment channel (or the merchant's payment backend) reports a purchase order paid online.
  const callbackUrl = `${window.location.origin}/v1/webhooks/${session.tenant_id}/purchase-payments`;
  return (
    <Space direction="vertical" style={{ width: '100%' }} size="large">
      <Alert
        type="info"
        showIcon
        message={t('agents.po.callbackTitle')}
        description={
          <>
            <Typography.Text copyable code data-testid="po-callback-url">
              {callbackUrl}
            </Typography.Text>
            <div>{t('agents.po.callbackHint')}</div>
            <div style={{ marginTop: 8 }}>
              {t('agents.po.wechatNotify')}{' '}
              <Typography.Text copyable code data-testid="po-callback-url-wechat">
                {`${callbackUrl}/wechat`}
              </Typography.Text>
            </div>
            <div>
              {t('agents.po.alipayNotify')}{' '}
              <Typography.Text copyable code data-testid="po-callback-url-alipay">
                {`${callbackUrl}/alipay`}
              </Typography.Text>
            </div>
            <div>{t('agents.po.channelNotifyHint')}</div>
          </>
        }
      />
      {can('finance:write') && (
        <Card title={t('agents.po.create')}>
          <Form form={form} name="purchaseOrder" layout="inline" initialValues={{ quantity: 1 }}>
            <Form.Item name="agent_id" label={t('agents.agent')} rules={[{ required: true }]}>
              <Select
                style={{ width: 260 }}
                options={agents
                  .filter((a) => a.status === 'active')
                  .map((a) => ({ value: a.id, label: `${a.region_full_name} · ${t(`agents.rank.${a.rank}`)}` }))}
              />
            </Form.Item>
            <Form.Item name="sku" label={t('agents.sku')} rules={[{ required: true }]}>
              <Input style={{ width: 140 }} />
            </Form.Item>
            <Form.Item name="quantity" label={t('agents.quantity')} rules={[{ required: true }]}>
              <InputNumber min={1} precision={0} style={{ width: 100 }} />
            </Form.Item>
            <Button type="primary" onClick={() => void create()} data-testid="create-po">
              {t('agents.po.create')}
            </Button>
          </Form>
        </Card>
      )}
      <Table<PurchaseOrder>
        rowKey="id"
        dataSource={orders.items}
        pagination={false}
        data-testid="po-table"
        columns={[
          { title: 'ID', dataIndex: 'id' },
          { title: t('agents.agent'), render: (_, p) => regionOf(p.agent_id) },
          { title: t('agents.po.items'), render: (_, p) => p.items.map((i) => `${i.sku} × ${i.quantity} @ ${formatYuan(i.unit_price_fen)}`).join('；') },
          { title: t('agents.amount'), render: (_, p) => formatYuan(p.amount_fen) },
          { title: t('agents.status'), render: (_, p) => <Tag color={p.status === 'paid' ? 'green' : 'orange'}>{t(`agents.po.status.${p.status}`)}</Tag> },
          { title: t('agents.po.reference'), render: (_, p) => p.reference ?? '—' },
          {
            title: t('common.actions'),
            render: (_, p) =>
              p.status === 'pending_payment' && can('finance:write') ? (
                <Button size="small" onClick={() => setPaying(p)}>
                  {t('agents.po.pay')}
                </Button>
              ) : null,
          },
        ]}
      />
      <ReasonDialog
        open={paying !== null}
        title={paying ? t('agents.po.payTitle', { id: paying.id }) : ''}
        fields={[{ name: 'reference', label: t('agents.po.reference'), required: true, max: 200 }]}
        onSubmit={async (v) => {
          if (!paying) return;
          await api.post(`/v1/purchase-orders/${paying.id}/pay`, { reference: v.reference });
          reload();
        }}
        onClose={() => setPaying(null)}
      />
    </Space>
  );
}

function StockTab({ agents }: { agents: Agent[] }) {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [agentId, setAgentId] = useState<string | null>(null);
  const [stock, reloadStock] = useLoad<{ items: StockItem[] }>(agentId ? `/v1/agents/${agentId}/inventory` : null, { items: [] });
  const [moves, reloadMoves] = useLoad<{ items: Movement[] }>(agentId ? `/v1/agents/${agentId}/stock-movements` : null, { items: [] });
  const [form] = Form.useForm<{ sku: string; quantity: number }>();
  const [correction] = Form.useForm<{ sku: string; quantity: number; reason: string }>();
  // One key per filled-in form: a double click or a retry after a lost answer corrects once.
  const [correctionKey, setCorrectionKey] = useState(() => newIdempotencyKey('scr'));
  async function correct() {
    if (!agentId) return;
    const v = await correction.validateFields();
    try {
      const r = await api.post<{ amount_fen: number }>(
        `/v1/agents/${agentId}/stock-corrections`,
        { items: [{ sku: v.sku.trim(), quantity: v.quantity }], reason: v.reason.trim() },
        { headers: { 'Idempotency-Key': correctionKey } },
      );
      void message.success(t('agents.stock.correctionDone', { amount: formatYuan(r.amount_fen) }));
      correction.resetFields();
      setCorrectionKey(newIdempotencyKey('scr'));
      reloadStock();
      reloadMoves();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }
  async function buyback() {
    if (!agentId) return;
    const v = await form.validateFields();
    try {
      const r = await api.post<{ amount_fen: number }>(`/v1/agents/${agentId}/stock-returns`, { items: [{ sku: v.sku.trim(), quantity: v.quantity }] });
      void message.success(t('agents.stock.buybackDone', { amount: formatYuan(r.amount_fen) }));
      reloadStock();
      reloadMoves();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }
  const slowBefore = Date.now() - SLOW_DAYS * 86_400_000;
  return (
    <Space direction="vertical" style={{ width: '100%' }} size="large">
      <Select
        aria-label={t('agents.stock.choose')}
        placeholder={t('agents.stock.choose')}
        style={{ width: 320 }}
        value={agentId}
        onChange={setAgentId}
        data-testid="stock-agent"
        options={agents.map((a) => ({ value: a.id, label: `${a.region_full_name} · ${t(`agents.rank.${a.rank}`)}` }))}
      />
      {agentId && (
        <>
          <Table<StockItem>
            rowKey="sku"
            dataSource={stock.items.filter((i) => i.quantity > 0)}
            pagination={false}
            locale={{ emptyText: t('agents.stock.empty') }}
            data-testid="stock-table"
            columns={[
              { title: t('agents.sku'), dataIndex: 'sku' },
              { title: t('agents.quantity'), dataIndex: 'quantity' },
              { title: t('agents.stock.value'), render: (_, i) => formatYuan(i.value_fen) },
              {
                title: t('agents.stock.oldest'),
                render: (_, i) =>
                  i.oldest_acquired_at ? (
                    <Space>
                      {new Date(i.oldest_acquired_at).toLocaleDateString()}
                      {new Date(i.oldest_acquired_at).getTime() < slowBefore && <Tag color="red">{t('agents.stock.slow', { days: SLOW_DAYS })}</Tag>}
                    </Space>
                  ) : (
                    '—'
                  ),
              },
            ]}
          />
          {can('finance:write') && (
            <Card title={t('agents.stock.buyback')}>
              <Form form={form} name="buyback" layout="inline" initialValues={{ quantity: 1 }}>
                <Form.Item name="sku" label={t('agents.sku')} rules={[{ required: true }]}>
                  <Input style={{ width: 140 }} />
                </Form.Item>
                <Form.Item name="quantity" label={t('agents.quantity')} rules={[{ required: true }]}>
                  <InputNumber min={1} precision={0} style={{ width: 100 }} />
                </Form.Item>
                <Button onClick={() => void buyback()} data-testid="buyback">
                  {t('agents.stock.buyback')}
                </Button>
              </Form>
            </Card>
          )}
          {can('finance:write') && (
            <Card title={t('agents.stock.correction')}>
              <Typography.Paragraph type="secondary">{t('agents.stock.correctionHint')}</Typography.Paragraph>
              <Form form={correction} name="correction" layout="inline" onValuesChange={() => setCorrectionKey(newIdempotencyKey('scr'))}>
                <Form.Item name="sku" label={t('agents.sku')} rules={[{ required: true }]}>
                  <Input style={{ width: 140 }} />
                </Form.Item>
                <Form.Item
                  name="quantity"
                  label={t('agents.stock.correctionQuantity')}
                  rules={[
                    { required: true },
                    { validator: (_, v) => (v === 0 ? Promise.reject(new Error(t('agents.stock.correctionZero'))) : Promise.resolve()) },
                  ]}
                >
                  <InputNumber precision={0} style={{ width: 120 }} />
                </Form.Item>
                <Form.Item name="reason" label={t('agents.reason')} rules={[{ required: true, whitespace: true }]}>
                  <Input style={{ width: 220 }} maxLength={500} />
                </Form.Item>
                <Button onClick={() => void correct()} data-testid="stock-correction">
                  {t('agents.stock.correct')}
                </Button>
              </Form>
            </Card>
          )}
          <Typography.Title level={5}>{t('agents.stock.movements')}</Typography.Title>
          <Table<Movement>
            rowKey="id"
            dataSource={moves.items}
            pagination={false}
            data-testid="movements-table"
            columns={[
              { title: t('common.createdAt'), render: (_, m) => new Date(m.created_at).toLocaleString() },
              { title: t('agents.sku'), dataIndex: 'sku' },
              { title: t('agents.stock.kind'), render: (_, m) => t(`agents.stock.kind.${m.kind}` as MessageKey) },
              { title: t('agents.quantity'), dataIndex: 'quantity' },
              { title: t('agents.unitPrice'), render: (_, m) => formatYuan(m.unit_cost_fen) },
              { title: t('agents.reason'), render: (_, m) => m.reason ?? '' },
              { title: 'Ref', dataIndex: 'ref_id' },
            ]}
          />
        </>
      )}
    </Space>
  );
}

interface TerritoryRow {
  agent_id: string;
  distributor_id: string;
  distributor_name: string;
  rank: 'province' | 'city' | 'district';
  region_code: string;
  region_full_name: string;
  status: 'active' | 'suspended' | 'ended';
  orders: number;
  sales_fen: number;
  refunded_fen: number;
  territory_commission_fen: number;
  price_difference_fen: number;
  stock_units: number;
  stock_value_fen: number;
  slow_units: number;
  slow_value_fen: number;
}
interface RankRow {
  rank: 'province' | 'city' | 'district';
  agents: number;
  orders: number;
  sales_fen: number;
  refunded_fen: number;
  territory_commission_fen: number;
  stock_value_fen: number;
}

const SALES_COLOR = '#c2300a';
const COMMISSION_COLOR = '#e6a23c';
const DIFFERENCE_COLOR = '#5b8ff9';

/** Each territory's sales and territory commission over the period, as bars. */
function TerritoryChart({ items }: { items: TerritoryRow[] }) {
  const { t } = useI18n();
  const option = useMemo(
    () => ({
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => formatYuan(v) },
      legend: { data: [t('agents.report.sales'), t('agents.report.commission')], top: 0 },
      grid: { left: 72, right: 16, top: 32, bottom: 48 },
      xAxis: { type: 'category', data: items.map((i) => i.region_full_name), axisLabel: { interval: 0, rotate: items.length > 4 ? 30 : 0 } },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => hundredths(v) } },
      series: [
        { name: t('agents.report.sales'), type: 'bar', data: items.map((i) => i.sales_fen), itemStyle: { color: SALES_COLOR }, barMaxWidth: 36 },
        {
          name: t('agents.report.commission'),
          type: 'bar',
          data: items.map((i) => i.territory_commission_fen),
          itemStyle: { color: COMMISSION_COLOR },
          barMaxWidth: 36,
        },
      ],
    }),
    [items, t],
  );
  return (
    <Chart
      option={option}
      height={280}
      testId="territory-chart"
      label={t('agents.report.chartAria', {
        items: items
          .map((i) =>
            t('agents.report.chartItem', { region: i.region_full_name, sales: formatYuan(i.sales_fen), commission: formatYuan(i.territory_commission_fen) }),
          )
          .join('; '),
      })}
    />
  );
}

/** One agent's territory over the period: its commission by status and its sales and earnings by day (or month). */
function TerritoryDetail({ agentId, days }: { agentId: string; days: number }) {
  const { t } = useI18n();
  const { api } = useAuthed();
  const { data: sales, error } = useLastDays((query) => api.get<TerritorySales>(`/v1/agents/${agentId}/territory-sales`, query), days, agentId, messageOf);
  const option = useMemo(
    () =>
      sales && {
        tooltip: { trigger: 'axis', valueFormatter: (v: number) => formatYuan(v) },
        legend: { data: [t('agents.report.sales'), t('agents.report.commission'), t('agents.report.priceDifference')], top: 0 },
        grid: { left: 72, right: 72, top: 32, bottom: 32 },
        xAxis: { type: 'category', data: sales.points.map((p) => p.period) },
        yAxis: [
          { type: 'value', axisLabel: { formatter: (v: number) => hundredths(v) } },
          { type: 'value', axisLabel: { formatter: (v: number) => hundredths(v) } },
        ],
        series: [
          { name: t('agents.report.sales'), type: 'bar', data: sales.points.map((p) => p.sales_fen), itemStyle: { color: SALES_COLOR }, barMaxWidth: 24 },
          {
            name: t('agents.report.commission'),
            type: 'line',
            yAxisIndex: 1,
            data: sales.points.map((p) => p.territory_commission_fen),
            itemStyle: { color: COMMISSION_COLOR },
            lineStyle: { color: COMMISSION_COLOR },
          },
          {
            name: t('agents.report.priceDifference'),
            type: 'line',
            yAxisIndex: 1,
            data: sales.points.map((p) => p.price_difference_fen),
            itemStyle: { color: DIFFERENCE_COLOR },
            lineStyle: { color: DIFFERENCE_COLOR },
          },
        ],
      },
    [sales, t],
  );
  if (error) return <Alert type="error" showIcon title={t('common.error', { message: error })} />;
  if (!sales || !option) return null;
  const busy = sales.points.filter((p) => p.orders !== 0 || p.territory_commission_fen !== 0 || p.price_difference_fen !== 0);
  return (
    <Card
      size="small"
      title={t('agents.report.detail', { region: sales.region_full_name, from: sales.range.from, to: sales.range.to })}
      data-testid="territory-detail"
    >
      <Descriptions size="small" column={{ xs: 1, md: 3 }}>
        <Descriptions.Item label={t('agents.report.orders')}>{sales.orders}</Descriptions.Item>
        <Descriptions.Item label={t('agents.report.sales')}>{formatYuan(sales.sales_fen)}</Descriptions.Item>
        <Descriptions.Item label={t('agents.report.refunded')}>{formatYuan(sales.refunded_fen)}</Descriptions.Item>
        <Descriptions.Item label={t('agents.report.commission')}>
          <span data-testid="territory-detail-commission">{formatYuan(sales.territory_commission_fen)}</span>
        </Descriptions.Item>
        <Descriptions.Item label={t('agents.report.byStatus')}>
          <span data-testid="territory-detail-status">
            {t('agents.report.statusSplit', {
              pending: formatYuan(sales.territory_commission.pending_fen),
              available: formatYuan(sales.territory_commission.available_fen),
              settled: formatYuan(sales.territory_commission.settled_fen),
            })}
          </span>
        </Descriptions.Item>
        <Descriptions.Item label={t('agents.report.priceDifference')}>{formatYuan(sales.price_difference_fen)}</Descriptions.Item>
      </Descriptions>
      <Chart
        option={option}
        height={260}
        testId="territory-detail-chart"
        label={t('agents.report.detailAria', {
          interval: t(sales.interval === 'day' ? 'agents.report.byDay' : 'agents.report.byMonth'),
          points: busy.length
            ? busy
                .map((p) =>
                  t('agents.report.point', {
                    period: p.period,
                    sales: formatYuan(p.sales_fen),
                    commission: formatYuan(p.territory_commission_fen),
                    difference: formatYuan(p.price_difference_fen),
                  }),
                )
                .join('; ')
            : t('agents.report.none'),
        })}
      />
    </Card>
  );
}

/** Sales and territory commission per territory and per rank over a period; stock on hand and its slow part. */
function TerritoriesTab() {
  const { t } = useI18n();
  const [days, setDays] = useState(30);
  // The period's start, fixed when the period is chosen (not on every render).
  const [from, setFrom] = useState(() => new Date(Date.now() - 30 * 86_400_000).toISOString());
  // Stock held longer than this is slow-moving (囤货): the merchant's warning line, chosen here.
  const [slowDays, setSlowDays] = useState(SLOW_DAYS);
  const [report] = useLoad<{ items: TerritoryRow[]; by_rank: RankRow[] }>(`/v1/agent-territories?from=${encodeURIComponent(from)}&slow_days=${slowDays}`, {
    items: [],
    by_rank: [],
  });
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <Space direction="vertical" style={{ width: '100%' }} size="large">
      <Space wrap>
        <Select
          aria-label={t('agents.report.period')}
          style={{ width: 200 }}
          value={days}
          onChange={(d) => {
            setDays(d);
            setFrom(new Date(Date.now() - d * 86_400_000).toISOString());
          }}
          options={[7, 30, 90, 365].map((d) => ({ value: d, label: t('agents.report.lastDays', { days: d }) }))}
          data-testid="territory-period"
        />
        <Select
          aria-label={t('agents.report.slowDays')}
          style={{ width: 240 }}
          value={slowDays}
          onChange={setSlowDays}
          options={[30, 60, 90, 180].map((d) => ({ value: d, label: t('agents.report.slowOption', { days: d }) }))}
          data-testid="territory-slow-days"
        />
      </Space>
      <Table<RankRow>
        rowKey="rank"
        dataSource={report.by_rank}
        pagination={false}
        size="small"
        data-testid="territory-ranks"
        columns={[
          { title: t('agents.rank'), render: (_, r) => t(`agents.rank.${r.rank}` as MessageKey) },
          { title: t('agents.report.agents'), dataIndex: 'agents' },
          { title: t('agents.report.orders'), dataIndex: 'orders' },
          { title: t('agents.report.sales'), render: (_, r) => formatYuan(r.sales_fen) },
          { title: t('agents.report.refunded'), render: (_, r) => formatYuan(r.refunded_fen) },
          { title: t('agents.report.commission'), render: (_, r) => formatYuan(r.territory_commission_fen) },
          { title: t('agents.report.stockValue'), render: (_, r) => formatYuan(r.stock_value_fen) },
        ]}
      />
      {report.items.length > 0 && <TerritoryChart items={report.items} />}
      <Table<TerritoryRow>
        rowKey="agent_id"
        dataSource={report.items}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        scroll={{ x: true }}
        data-testid="territory-table"
        columns={[
          { title: t('agents.region'), render: (_, r) => `${r.region_full_name}（${r.region_code}）` },
          { title: t('agents.rank'), render: (_, r) => t(`agents.rank.${r.rank}` as MessageKey) },
          { title: t('agents.distributor'), render: (_, r) => r.distributor_name },
          { title: t('agents.report.orders'), dataIndex: 'orders' },
          { title: t('agents.report.sales'), render: (_, r) => formatYuan(r.sales_fen) },
          { title: t('agents.report.refunded'), render: (_, r) => formatYuan(r.refunded_fen) },
          { title: t('agents.report.commission'), render: (_, r) => formatYuan(r.territory_commission_fen) },
          { title: t('agents.report.priceDifference'), render: (_, r) => formatYuan(r.price_difference_fen) },
          { title: t('agents.report.stock'), render: (_, r) => `${r.stock_units} / ${formatYuan(r.stock_value_fen)}` },
          {
            title: t('agents.report.slow', { days: slowDays }),
            render: (_, r) => (r.slow_units > 0 ? <Tag color="red">{`${r.slow_units} / ${formatYuan(r.slow_value_fen)}`}</Tag> : '—'),
          },
          {
            title: '',
            key: 'detail',
            render: (_, r) => (
              <Button
                size="small"
                type={selected === r.agent_id ? 'primary' : 'default'}
                onClick={() => setSelected(r.agent_id)}
                data-testid="territory-detail-open"
              >
                {t('agents.report.open')}
              </Button>
            ),
          },
        ]}
      />
      {selected && <TerritoryDetail key={selected} agentId={selected} days={days} />}
    </Space>
  );
}

/** Agent mode: settings, agents and their territories, price lists, purchase orders, inventory. */
export default function AgentsPage() {
  const { t } = useI18n();
  const [agents, reloadAgents] = useLoad<{ items: Agent[] }>('/v1/agents?limit=500', { items: [] });
  // The territory results are read afresh each time their tab is opened: orders arrive meanwhile.
  const [territoryVisits, setTerritoryVisits] = useState(0);
  return (
    <>
      <Typography.Title level={3}>{t('agents.title')}</Typography.Title>
      <Tabs
        onChange={(key) => key === 'territories' && setTerritoryVisits((n) => n + 1)}
        items={[
          { key: 'agents', label: t('agents.tab.agents'), children: <AgentsTab agents={agents.items} reload={reloadAgents} /> },
          { key: 'applications', label: t('agents.tab.applications'), children: <ApplicationsTab onAppointed={reloadAgents} /> },
          { key: 'program', label: t('agents.tab.program'), children: <ProgramTab /> },
          { key: 'prices', label: t('agents.tab.prices'), children: <PricesTab /> },
          { key: 'purchases', label: t('agents.tab.purchases'), children: <PurchasesTab agents={agents.items} /> },
          { key: 'stock', label: t('agents.tab.stock'), children: <StockTab agents={agents.items} /> },
          { key: 'territories', label: t('agents.tab.territories'), children: <TerritoriesTab key={territoryVisits} /> },
        ]}
      />
    </>
  );
}
