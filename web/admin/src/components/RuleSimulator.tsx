import { useEffect, useMemo, useState } from 'react';
import { Alert, Button, Card, Col, Form, Input, Row, Select, Space, Statistic, Table, Typography } from 'antd';
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
