import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { Alert, Button, Card, Col, Form, Input, Row, Segmented, Select, Space, Statistic, Table, Typography } from 'antd';
import { formatYuan, hundredths } from '../../../shared/format.ts';
import type { AnalyticsBreakdown, AnalyticsKpis, AnalyticsSeries, AnalyticsTop, SeriesMetric } from '../../../shared/types.ts';
import { Chart } from '../components/Chart.tsx';
import { messageOf } from '../components/errors.ts';
import { Money } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import type { MessageKey } from '../messages.ts';
import { useAuthed } from '../session.tsx';
import { GradeName } from '../components/GradeName.tsx';

type Interval = 'day' | 'week' | 'month';
const SERIES_METRICS: SeriesMetric[] = ['sales_fen', 'orders', 'commission_fen', 'new_distributors', 'new_bindings', 'visits', 'settled_fen', 'withdrawn_fen'];
const COLOR = '#c2300a';

const isFen = (metric: string) => metric.endsWith('_fen');
/** A chart value as the reader sees it: fen as yuan (string arithmetic), counts as they are. */
const valueText = (metric: string, v: number) => (isFen(metric) ? formatYuan(v) : String(v));

/** A KPI: the API's integer on the element (data-value), formatted for reading. */
function Kpi({ name, label, value, fen }: { name: string; label: string; value: number; fen?: boolean }) {
  return (
    <Card size="small">
      <div data-testid={`kpi-${name}`} data-value={value}>
        <Statistic title={label} value={fen ? formatYuan(value) : value} valueStyle={value < 0 ? { color: '#cf1322' } : undefined} />
      </div>
    </Card>
  );
}

function Series({ range }: { range: { from?: string; to?: string } }) {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [metric, setMetric] = useState<SeriesMetric>('sales_fen');
  const [interval, setInterval] = useState<Interval>('day');
  const [series, setSeries] = useState<AnalyticsSeries | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setSeries(null);
    setError(null);
    api.get<AnalyticsSeries>('/v1/analytics/timeseries', { ...range, metric, interval }).then(
      (s) => {
        if (live) setSeries(s);
      },
      (err: unknown) => {
        if (live) setError(messageOf(err));
      },
    );
    return () => {
      live = false;
    };
  }, [api, range, metric, interval]);

  const option = useMemo(
    () =>
      series && {
        tooltip: { trigger: 'axis', valueFormatter: (v: number) => valueText(metric, v) },
        grid: { left: 72, right: 16, top: 16, bottom: 32 },
        xAxis: { type: 'category', data: series.points.map((p) => p.period) },
        yAxis: { type: 'value', minInterval: 1, axisLabel: { formatter: (v: number) => (isFen(metric) ? hundredths(v) : String(v)) } },
        series: [
          {
            type: interval === 'day' ? 'line' : 'bar',
            data: series.points.map((p) => p.value),
            itemStyle: { color: COLOR },
            lineStyle: { color: COLOR },
            barMaxWidth: 40,
            smooth: false,
          },
        ],
      },
    [series, metric, interval],
  );

  const label = (m: SeriesMetric) => t(`dash.metric.${m}` as MessageKey);
  return (
    <Card
      title={t('dash.series')}
      extra={
        <Space wrap>
          <Select
            aria-label={t('dash.metric')}
            value={metric}
            onChange={setMetric}
            style={{ width: 160 }}
            data-testid="series-metric"
            options={SERIES_METRICS.map((m) => ({ value: m, label: label(m) }))}
          />
          <Segmented<Interval>
            value={interval}
            onChange={setInterval}
            data-testid="series-interval"
            options={[
              { value: 'day', label: t('dash.day') },
              { value: 'week', label: t('dash.week') },
              { value: 'month', label: t('dash.month') },
            ]}
          />
        </Space>
      }
    >
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      {series && option && (
        <>
          <Typography.Text data-testid="series-total" data-value={series.total}>
            {t('dash.seriesTotal', { metric: label(metric), total: valueText(metric, series.total) })}
          </Typography.Text>
          <Chart
            option={option}
            height={300}
            testId="series-chart"
            label={t('dash.seriesAria', {
              metric: label(metric),
              n: series.points.length,
              total: valueText(metric, series.total),
              points: series.points.map((p) => `${p.period} ${valueText(metric, p.value)}`).join('; '),
            })}
          />
        </>
      )}
    </Card>
  );
}

function BreakdownCard({ by, range }: { by: 'grade' | 'region'; range: { from?: string; to?: string } }) {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [data, setData] = useState<AnalyticsBreakdown | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setData(null);
    setError(null);
    api.get<AnalyticsBreakdown>('/v1/analytics/breakdown', { ...range, by, ...(by === 'region' ? { level: 'province' } : {}) }).then(
      (d) => {
        if (live) setData(d);
      },
      (err: unknown) => {
        if (live) setError(messageOf(err));
      },
    );
    return () => {
      live = false;
    };
  }, [api, range, by]);

  const name = useCallback((i: AnalyticsBreakdown['items'][number]) => i.name ?? i.key ?? (by === 'grade' ? t('dash.noSeller') : t('dash.noRegion')), [by, t]);
  const option = useMemo(
    () =>
      data && {
        tooltip: { trigger: 'axis', valueFormatter: (v: number) => formatYuan(v) },
        grid: { left: 72, right: 16, top: 16, bottom: 32, containLabel: false },
        xAxis: { type: 'category', data: data.items.map(name) },
        yAxis: { type: 'value', axisLabel: { formatter: (v: number) => hundredths(v) } },
        series: [{ type: 'bar', data: data.items.map((i) => i.sales_fen), itemStyle: { color: COLOR }, barMaxWidth: 40 }],
      },
    [data, name],
  );

  const title = by === 'grade' ? t('dash.byGrade') : t('dash.byRegion');
  return (
    <Card title={title}>
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      {data && option && (
        <>
          <Chart
            option={option}
            height={220}
            testId={`breakdown-${by}-chart`}
            label={t('dash.breakdownAria', { title, items: data.items.map((i) => `${name(i)} ${formatYuan(i.sales_fen)}`).join('; ') })}
          />
          <Table
            size="small"
            pagination={false}
            rowKey={(i) => i.key ?? '__none'}
            dataSource={data.items}
            data-testid={`breakdown-${by}`}
            summary={() => (
              <Table.Summary.Row>
                <Table.Summary.Cell index={0}>{t('recon.all')}</Table.Summary.Cell>
                <Table.Summary.Cell index={1} align="right">
                  {data.totals.orders}
                </Table.Summary.Cell>
                <Table.Summary.Cell index={2} align="right">
                  <Money fen={data.totals.sales_fen} />
                </Table.Summary.Cell>
                <Table.Summary.Cell index={3} align="right">
                  <Money fen={data.totals.commission_fen} />
                </Table.Summary.Cell>
                <Table.Summary.Cell index={4} align="right">
                  {data.totals.new_distributors}
                </Table.Summary.Cell>
              </Table.Summary.Row>
            )}
            columns={[
              { title: by === 'grade' ? t('distributors.grade') : t('detail.region'), key: 'name', render: (_: unknown, i) => name(i) },
              { title: t('dash.orders'), dataIndex: 'orders', align: 'right' },
              { title: t('dash.sales'), dataIndex: 'sales_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
              { title: t('dash.commission'), dataIndex: 'commission_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
              { title: t('dash.newDistributors'), dataIndex: 'new_distributors', align: 'right' },
            ]}
          />
        </>
      )}
    </Card>
  );
}

function TopTen({ range }: { range: { from?: string; to?: string } }) {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [metric, setMetric] = useState<'sales' | 'commission'>('sales');
  const [top, setTop] = useState<AnalyticsTop | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setTop(null);
    setError(null);
    api.get<AnalyticsTop>('/v1/analytics/top', { ...range, metric, limit: 10 }).then(
      (d) => {
        if (live) setTop(d);
      },
      (err: unknown) => {
        if (live) setError(messageOf(err));
      },
    );
    return () => {
      live = false;
    };
  }, [api, range, metric]);
  return (
    <Card
      title={t('dash.top')}
      extra={
        <Segmented<'sales' | 'commission'>
          value={metric}
          onChange={setMetric}
          data-testid="top-metric"
          options={[
            { value: 'sales', label: t('dash.bySales') },
            { value: 'commission', label: t('dash.byCommission') },
          ]}
        />
      }
    >
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      <Table
        size="small"
        rowKey="distributor_id"
        loading={!top && !error}
        dataSource={top?.items ?? []}
        pagination={false}
        data-testid="top-table"
        locale={{ emptyText: t('dash.noData') }}
        columns={[
          { title: '#', dataIndex: 'rank', width: 48 },
          {
            title: t('distributors.name'),
            dataIndex: 'name',
            render: (v: string, r) => <Link to={`/distributors/${encodeURIComponent(r.distributor_id)}`}>{v}</Link>,
          },
          { title: t('distributors.grade'), dataIndex: 'grade', render: (g: string) => <GradeName code={g} /> },
          { title: t('dash.orders'), dataIndex: 'orders', align: 'right' },
          { title: t('dash.sales'), dataIndex: 'sales_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
          { title: t('dash.commission'), dataIndex: 'commission_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
        ]}
      />
    </Card>
  );
}

/**
 * The dashboard: every figure is the analytics API's own integer, shown as it came (fen as
 * yuan by string arithmetic); the charts draw the same numbers and say them to screen readers.
 */
export default function DashboardPage() {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [form, setForm] = useState({ from: '', to: '' });
  const [range, setRange] = useState<{ from?: string; to?: string }>({});
  const [kpis, setKpis] = useState<AnalyticsKpis | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setKpis(null);
    setError(null);
    api.get<AnalyticsKpis>('/v1/analytics/kpis', range).then(
      (k) => {
        if (live) setKpis(k);
      },
      (err: unknown) => {
        if (live) setError(messageOf(err));
      },
    );
    return () => {
      live = false;
    };
  }, [api, range]);

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }} wrap>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
          {t('dash.title')}
        </Typography.Title>
        <Form layout="inline" onFinish={() => setRange({ ...(form.from ? { from: form.from } : {}), ...(form.to ? { to: form.to } : {}) })}>
          <Form.Item label={t('dash.from')} htmlFor="dash-from">
            <Input id="dash-from" type="date" value={form.from} onChange={(e) => setForm((f) => ({ ...f, from: e.target.value }))} />
          </Form.Item>
          <Form.Item label={t('dash.to')} htmlFor="dash-to">
            <Input id="dash-to" type="date" value={form.to} onChange={(e) => setForm((f) => ({ ...f, to: e.target.value }))} />
          </Form.Item>
          <Form.Item>
            <Button htmlType="submit" data-testid="dash-apply">
              {t('common.search')}
            </Button>
          </Form.Item>
        </Form>
      </Space>
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      {kpis && (
        <>
          <Typography.Text type="secondary" data-testid="dash-range">
            {t('dash.range', { from: kpis.range.from, to: kpis.range.to, tz: kpis.range.timezone })}
          </Typography.Text>
          <Row gutter={[16, 16]} data-testid="kpis">
            {(
              [
                ['sales_fen', t('dash.sales'), true],
                ['orders', t('dash.orders'), false],
                ['pending_payment_orders', t('dash.pendingPayment'), false],
                ['closed_orders', t('dash.closedUnpaid'), false],
                ['commission_fen', t('dash.commission'), true],
                ['distributors', t('dash.distributors'), false],
                ['new_distributors', t('dash.newDistributors'), false],
                ['active_distributors', t('dash.activeDistributors'), false],
                ['settled_fen', t('dash.settled'), true],
                ['withdrawn_fen', t('dash.withdrawn'), true],
              ] as const
            ).map(([name, label, fen]) => (
              <Col key={name} xs={12} md={8} xl={6} xxl={3}>
                <Kpi name={name} label={label} value={kpis[name]} fen={fen} />
              </Col>
            ))}
          </Row>
          <Card size="small" title={t('dash.balances')}>
            <Row gutter={[16, 16]}>
              {(['pending_fen', 'available_fen', 'withdrawable_fen', 'withdrawing_fen', 'withdrawn_fen'] as const).map((k) => (
                <Col key={k} xs={12} md={8} xl={4}>
                  <Kpi name={`balance-${k}`} label={t(`balance.${k}`)} value={kpis.balances[k]} fen />
                </Col>
              ))}
              <Col xs={12} md={8} xl={4}>
                <Kpi name="balance-commission_expense_fen" label={t('dash.expense')} value={kpis.balances.commission_expense_fen} fen />
              </Col>
            </Row>
          </Card>
        </>
      )}
      <Series range={range} />
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <BreakdownCard by="grade" range={range} />
        </Col>
        <Col xs={24} xl={12}>
          <BreakdownCard by="region" range={range} />
        </Col>
      </Row>
      <TopTen range={range} />
    </Space>
  );
}
