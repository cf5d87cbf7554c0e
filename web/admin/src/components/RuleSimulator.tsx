import { useEffect, useMemo, useState } from 'react';
import { Alert, Button, Card, Col, Divider, Form, Input, InputNumber, Row, Select, Space, Statistic, Table, Typography } from 'antd';
import { formatBp, formatYuan, hundredths } from '../../../shared/format.ts';
import type { Grade, RuleSimulation, SimulateBody } from '../../../shared/types.ts';
import { Chart } from './Chart.tsx';
import { HundredthsInput } from './HundredthsInput.tsx';
import { messageOf } from './errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

interface SimForm {
  from: string;
  to: string;
  grade?: string;
  levels?: number;
  sales?: number | null;
  l1?: number | null;
  l2?: number | null;
  l3?: number | null;
  /** The month-end tier true-up proposed on or off (changes.tier_true_up); unset: unchanged. */
  trueUp?: 'on' | 'off';
  /** A proposed binding policy (changes.binding): only the fields set are sent. */
  binding?: {
    mode?: BindingMode;
    rebind_after_days?: number | null;
    protection_days?: number | null;
    validity_days?: number | null;
    validity_from?: ValidityFrom;
  };
}

type BindingChanges = NonNullable<NonNullable<SimulateBody['changes']>['binding']>;
type BindingMode = NonNullable<BindingChanges['mode']>;
type ValidityFrom = NonNullable<BindingChanges['validity_from']>;
const MODES: readonly BindingMode[] = ['permanent', 'rebindable', 'override'];
const VALIDITY_FROM: readonly ValidityFrom[] = ['bound', 'last_order'];

/** The binding fields of the form as the API takes them (changes.binding), or null when none is set. */
export function bindingChanges(b: SimForm['binding']): BindingChanges | null {
  if (!b) return null;
  const out: BindingChanges = {};
  if (b.mode) out.mode = b.mode;
  if (b.rebind_after_days != null) out.rebind_after_days = b.rebind_after_days;
  if (b.protection_days != null) out.protection_days = b.protection_days;
  if (b.validity_days != null) out.validity_days = b.validity_days;
  if (b.validity_from) out.validity_from = b.validity_from;
  return Object.keys(out).length > 0 ? out : null;
}

const dayText = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** The rules page's simulator: a proposed grade rate or number of levels, replayed on past orders (POST /v1/rules/simulate). */
export function RuleSimulator() {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [grades, setGrades] = useState<Grade[]>([]);
  const [result, setResult] = useState<RuleSimulation | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [form] = Form.useForm<SimForm>();

  useEffect(() => {
    api.get<{ items: Grade[] }>('/v1/grades').then(
      (g) => setGrades(g.items),
      () => setGrades([]),
    );
  }, [api]);

  const initial = useMemo(() => {
    const to = new Date(Date.now() + 86_400_000);
    return { from: dayText(new Date(to.getTime() - 30 * 86_400_000)), to: dayText(to) };
  }, []);

  async function run(v: SimForm) {
    const changes: SimulateBody['changes'] = {};
    if (v.levels !== undefined) changes.levels = v.levels;
    const grade = grades.find((g) => g.code === v.grade);
    if (grade && (v.sales != null || v.l1 != null || v.l2 != null || v.l3 != null)) {
      const override = [...grade.override_bp];
      [v.l1, v.l2, v.l3].forEach((bp, i) => {
        if (bp != null) override[i] = bp;
      });
      changes.grades = { [grade.code]: { ...(v.sales != null ? { sales_bp: v.sales } : {}), override_bp: override.map((bp) => bp ?? 0) } };
    }
    if (v.trueUp) changes.tier_true_up = v.trueUp === 'on';
    const binding = bindingChanges(v.binding);
    if (binding) changes.binding = binding;
    if (Object.keys(changes).length === 0) {
      setError(t('sim.nothing'));
      return;
    }
    setRunning(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.post<RuleSimulation>('/v1/rules/simulate', { from: v.from, to: v.to, changes }));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setRunning(false);
    }
  }

  const levelName = (level: number) => (level === 0 ? t('sim.sales') : t('sim.level', { level }));
  const chart = result && {
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => formatYuan(v) },
    legend: { top: 0, data: [t('sim.current'), t('sim.proposed')] },
    grid: { left: 72, right: 16, top: 32, bottom: 32 },
    xAxis: { type: 'category', data: result.by_level.map((l) => levelName(l.level)) },
    yAxis: { type: 'value', axisLabel: { formatter: (v: number) => hundredths(v) } },
    series: [
      { name: t('sim.current'), type: 'bar', data: result.by_level.map((l) => l.current_fen), itemStyle: { color: '#8c8c8c' }, barMaxWidth: 40 },
      { name: t('sim.proposed'), type: 'bar', data: result.by_level.map((l) => l.proposed_fen), itemStyle: { color: '#c2300a' }, barMaxWidth: 40 },
    ],
  };

  return (
    <Card title={t('sim.title')} data-testid="rule-simulator">
      <Typography.Paragraph type="secondary">{t('sim.intro')}</Typography.Paragraph>
      <Form form={form} name="rule-simulator" layout="inline" initialValues={initial} onFinish={run} style={{ rowGap: 12 }}>
        <Form.Item name="from" label={t('sim.from')} rules={[{ required: true }]}>
          <Input type="date" />
        </Form.Item>
        <Form.Item name="to" label={t('sim.to')} rules={[{ required: true }]}>
          <Input type="date" />
        </Form.Item>
        <Form.Item name="levels" label={t('sim.levels')}>
          <Select allowClear placeholder={t('sim.unchanged')} style={{ width: 120 }} options={[1, 2, 3].map((n) => ({ value: n, label: String(n) }))} />
        </Form.Item>
        <Form.Item name="grade" label={t('sim.grade')}>
          <Select allowClear style={{ width: 160 }} options={grades.map((g) => ({ value: g.code, label: `${g.name} (${g.code})` }))} />
        </Form.Item>
        <Form.Item name="sales" label={t('sim.sales')}>
          <HundredthsInput aria-label={t('sim.sales')} suffix="%" max={10000} />
        </Form.Item>
        {(['l1', 'l2', 'l3'] as const).map((k, i) => (
          <Form.Item key={k} name={k} label={t('sim.level', { level: i + 1 })}>
            <HundredthsInput aria-label={t('sim.level', { level: i + 1 })} suffix="%" max={10000} />
          </Form.Item>
        ))}
        <Form.Item name="trueUp" label={t('sim.trueUp')}>
          <Select
            allowClear
            data-testid="sim-true-up-switch"
            aria-label={t('sim.trueUp')}
            placeholder={t('sim.unchanged')}
            style={{ width: 120 }}
            options={[
              { value: 'on', label: t('sim.trueUp.on') },
              { value: 'off', label: t('sim.trueUp.off') },
            ]}
          />
        </Form.Item>
        <div style={{ flexBasis: '100%' }}>
          <Divider titlePlacement="start" plain style={{ margin: '4px 0' }}>
            {t('sim.binding')}
          </Divider>
        </div>
        <Form.Item name={['binding', 'mode']} label={t('program.binding.mode')}>
          <Select
            allowClear
            data-testid="sim-binding-mode"
            aria-label={t('program.binding.mode')}
            placeholder={t('sim.unchanged')}
            style={{ width: 220 }}
            options={MODES.map((m) => ({ value: m, label: t(`program.binding.mode.${m}`) }))}
          />
        </Form.Item>
        <Form.Item name={['binding', 'rebind_after_days']} label={t('program.binding.rebindAfter')}>
          <InputNumber
            aria-label={t('program.binding.rebindAfter')}
            placeholder={t('sim.unchanged')}
            min={1}
            max={3650}
            precision={0}
            style={{ width: 140 }}
            addonAfter={t('program.binding.days')}
          />
        </Form.Item>
        <Form.Item name={['binding', 'protection_days']} label={t('program.binding.protection')}>
          <InputNumber
            aria-label={t('program.binding.protection')}
            placeholder={t('sim.unchanged')}
            min={0}
            max={3650}
            precision={0}
            style={{ width: 140 }}
            addonAfter={t('program.binding.days')}
          />
        </Form.Item>
        <Form.Item name={['binding', 'validity_days']} label={t('program.binding.validity')}>
          <InputNumber
            aria-label={t('program.binding.validity')}
            placeholder={t('sim.unchanged')}
            min={0}
            max={3650}
            precision={0}
            style={{ width: 140 }}
            addonAfter={t('program.binding.days')}
          />
        </Form.Item>
        <Form.Item name={['binding', 'validity_from']} label={t('program.binding.validityFrom')}>
          <Select
            allowClear
            data-testid="sim-binding-validity-from"
            aria-label={t('program.binding.validityFrom')}
            placeholder={t('sim.unchanged')}
            style={{ width: 160 }}
            options={VALIDITY_FROM.map((v) => ({ value: v, label: t(`program.binding.validityFrom.${v}`) }))}
          />
        </Form.Item>
        <Typography.Text type="secondary" style={{ flexBasis: '100%' }}>
          {t('sim.bindingHint')}
        </Typography.Text>
        <Form.Item>
          <Button type="primary" htmlType="submit" loading={running}>
            {running ? t('sim.running') : t('sim.run')}
          </Button>
        </Form.Item>
      </Form>
      {error && <Alert style={{ marginTop: 16 }} type="error" showIcon title={error} />}
      {result && (
        <Space direction="vertical" size="middle" style={{ width: '100%', marginTop: 16 }} data-testid="simulation">
          <Row gutter={[16, 16]}>
            <Col xs={12} md={4}>
              <Statistic title={t('sim.orders')} value={result.orders} />
            </Col>
            <Col xs={12} md={4}>
              <Statistic title={t('sim.paid')} value={formatYuan(result.paid_fen)} />
            </Col>
            <Col xs={12} md={4}>
              <Statistic title={t('sim.current')} value={formatYuan(result.current_fen)} />
            </Col>
            <Col xs={12} md={4}>
              <Statistic title={t('sim.proposed')} value={formatYuan(result.proposed_fen)} />
            </Col>
            <Col xs={12} md={4}>
              <div data-testid="sim-delta" data-value={result.delta_fen}>
                <Statistic
                  title={t('sim.delta')}
                  value={`${result.delta_fen > 0 ? '+' : ''}${formatYuan(result.delta_fen)}`}
                  valueStyle={{ color: result.delta_fen > 0 ? '#cf1322' : result.delta_fen < 0 ? '#389e0d' : undefined }}
                />
              </div>
            </Col>
            <Col xs={12} md={4}>
              <Statistic title={t('sim.rate')} value={`${formatBp(result.current_rate_bp)} → ${formatBp(result.proposed_rate_bp)}`} />
            </Col>
          </Row>
          <Typography.Text type="secondary">
            {t('sim.actual')}: {formatYuan(result.actual_fen)} · {t('sim.gaining', { n: result.distributors_gaining, m: result.distributors_losing })}
          </Typography.Text>
          {chart && (
            <Chart
              option={chart}
              testId="sim-chart"
              height={220}
              label={t('sim.chartAria', {
                points: result.by_level.map((l) => `${levelName(l.level)} ${formatYuan(l.current_fen)} → ${formatYuan(l.proposed_fen)}`).join('；'),
              })}
            />
          )}
          {(result.true_up.current || result.true_up.proposed) && <TrueUpFigures result={result} />}
          {result.binding && <BindingShift result={result} />}
          <Table
            size="small"
            rowKey="distributor_id"
            pagination={false}
            title={() => t('sim.top')}
            dataSource={result.top_changes}
            data-testid="sim-top"
            columns={[
              { title: t('sim.distributor'), dataIndex: 'name' },
              { title: t('sim.current'), dataIndex: 'current_fen', align: 'right', render: (v: number) => formatYuan(v) },
              { title: t('sim.proposed'), dataIndex: 'proposed_fen', align: 'right', render: (v: number) => formatYuan(v) },
              { title: t('sim.delta'), dataIndex: 'delta_fen', align: 'right', render: (v: number) => `${v > 0 ? '+' : ''}${formatYuan(v)}` },
            ]}
          />
        </Space>
      )}
    </Card>
  );
}

/** A binding policy (the simulator's `binding.current` or `binding.proposed`) in words. */
function policyText(p: unknown, t: ReturnType<typeof useI18n>['t']): string {
  if (!p || typeof p !== 'object') return '—';
  const b = p as Partial<Record<keyof BindingChanges, unknown>>;
  const parts: string[] = [];
  if (typeof b.mode === 'string' && (MODES as readonly string[]).includes(b.mode)) parts.push(t(`program.binding.mode.${b.mode as BindingMode}`));
  if (b.mode === 'rebindable' && typeof b.rebind_after_days === 'number') parts.push(t('sim.policy.rebind', { days: b.rebind_after_days }));
  if (typeof b.protection_days === 'number' && b.protection_days > 0) parts.push(t('sim.policy.protection', { days: b.protection_days }));
  if (typeof b.validity_days === 'number' && b.validity_days > 0) {
    const from =
      typeof b.validity_from === 'string' && (VALIDITY_FROM as readonly string[]).includes(b.validity_from) ? (b.validity_from as ValidityFrom) : 'bound';
    parts.push(t('sim.policy.validity', { days: b.validity_days, from: t(`program.binding.validityFrom.${from}`) }));
  }
  return parts.join(' · ');
}

/** What a proposed binding policy changes: the orders that go to another seller (or none), and their commissions. */
function BindingShift({ result }: { result: RuleSimulation }) {
  const { t } = useI18n();
  const b = result.binding;
  if (!b) return null;
  const withSeller = (without: number) => Math.max(0, result.orders - without);
  const categories = [t('sim.shift.withSeller'), t('sim.shift.withoutSeller')];
  const current = [withSeller(b.orders_without_seller_current), b.orders_without_seller_current];
  const proposed = [withSeller(b.orders_without_seller_proposed), b.orders_without_seller_proposed];
  const option = {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, data: [t('sim.policy.current'), t('sim.policy.proposed')] },
    grid: { left: 48, right: 16, top: 32, bottom: 32 },
    xAxis: { type: 'category', data: categories },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      { name: t('sim.policy.current'), type: 'bar', data: current, itemStyle: { color: '#8c8c8c' }, barMaxWidth: 40 },
      { name: t('sim.policy.proposed'), type: 'bar', data: proposed, itemStyle: { color: '#c2300a' }, barMaxWidth: 40 },
    ],
  };
  return (
    <Card size="small" type="inner" title={t('sim.shift.title')} data-testid="sim-binding">
      <Space direction="vertical" size="small" style={{ width: '100%' }}>
        <Typography.Text type="secondary" data-testid="sim-binding-policies">
          {t('sim.policy.current')}：{policyText(b.current, t)} → {t('sim.policy.proposed')}：{policyText(b.proposed, t)}
        </Typography.Text>
        <Row gutter={[16, 16]}>
          <Col xs={12} md={6}>
            <div data-testid="sim-orders-moved" data-value={b.orders_moved}>
              <Statistic title={t('sim.shift.moved')} value={b.orders_moved} suffix={t('sim.shift.ofOrders', { n: result.orders })} />
            </div>
          </Col>
          <Col xs={12} md={6}>
            <div data-testid="sim-moved-paid" data-value={b.moved_paid_fen}>
              <Statistic title={t('sim.shift.movedPaid')} value={formatYuan(b.moved_paid_fen)} />
            </div>
          </Col>
          <Col xs={12} md={6}>
            <div data-testid="sim-moved-commission" data-current={b.moved_current_fen} data-proposed={b.moved_proposed_fen}>
              <Statistic title={t('sim.shift.movedCommission')} value={`${formatYuan(b.moved_current_fen)} → ${formatYuan(b.moved_proposed_fen)}`} />
            </div>
          </Col>
          <Col xs={12} md={6}>
            <div data-testid="sim-without-seller" data-current={b.orders_without_seller_current} data-proposed={b.orders_without_seller_proposed}>
              <Statistic title={t('sim.shift.withoutSeller')} value={`${b.orders_without_seller_current} → ${b.orders_without_seller_proposed}`} />
            </div>
          </Col>
        </Row>
        <Chart
          option={option}
          testId="sim-binding-chart"
          height={200}
          label={t('sim.shift.chartAria', {
            withCurrent: current[0] ?? 0,
            withProposed: proposed[0] ?? 0,
            withoutCurrent: current[1] ?? 0,
            withoutProposed: proposed[1] ?? 0,
          })}
        />
        <Typography.Text type="secondary">{t('sim.shift.note')}</Typography.Text>
      </Space>
    </Card>
  );
}

/** What the month-end true-up adds over the period's whole months, under the rules in force and as proposed. */
function TrueUpFigures({ result }: { result: RuleSimulation }) {
  const { t } = useI18n();
  const u = result.true_up;
  const onOff = (on: boolean) => t(on ? 'sim.trueUp.on' : 'sim.trueUp.off');
  return (
    <Card size="small" type="inner" title={t('sim.trueUp.title')} data-testid="sim-true-up">
      <Space direction="vertical" size="small" style={{ width: '100%' }}>
        <Typography.Text type="secondary" data-testid="sim-true-up-state">
          {t('sim.trueUp.state', { current: onOff(u.current), proposed: onOff(u.proposed) })} ·{' '}
          {u.months.length > 0 ? t('sim.trueUp.months', { months: u.months.join('、') }) : t('sim.trueUp.noMonths')}
        </Typography.Text>
        <div data-testid="sim-true-up-fen" data-current={u.current_fen} data-proposed={u.proposed_fen} data-delta={u.delta_fen}>
          <Statistic title={t('sim.trueUp.added')} value={`${formatYuan(u.current_fen)} → ${formatYuan(u.proposed_fen)}`} />
        </div>
      </Space>
    </Card>
  );
}
