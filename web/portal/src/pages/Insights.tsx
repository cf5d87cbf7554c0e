import { useEffect, useState } from 'react';
import { Card, DotLoading, ErrorBlock, Grid, Selector } from 'antd-mobile';
import { formatBp, shiftDay } from '../../../shared/format.ts';
import type { AnalyticsFunnel, MyEarnings } from '../../../shared/types.ts';
import { ColumnChart } from '../components/column-chart.tsx';
import { figureCell, Money } from '../components/money.tsx';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';

const RANGES = [7, 30, 90] as const;
type Days = (typeof RANGES)[number];

/**
 * The funnel as horizontal bars, each as long as its count against the first: visitors of the
 * invite link → customers bound → buyers, with the conversion between them. An SVG, so the
 * portal carries no chart library.
 */
function FunnelChart({ funnel }: { funnel: AnalyticsFunnel }) {
  const { t } = useI18n();
  const steps = [
    {
      label: t('insights.visitors'),
      n: funnel.unique_visitors,
      note: t('insights.visits', { n: funnel.visits }),
      rate: null as number | null,
      color: '#f3a683',
    },
    { label: t('insights.bindings'), n: funnel.bindings, note: null, rate: funnel.visit_to_binding_bp, color: '#e66f3c' },
    { label: t('insights.buyers'), n: funnel.buyers, note: t('insights.orders', { n: funnel.orders }), rate: funnel.binding_to_order_bp, color: '#c2300a' },
  ];
  const max = Math.max(1, ...steps.map((s) => s.n));
  const W = 320;
  const ROW = 58;
  return (
    <svg
      viewBox={`0 0 ${W} ${ROW * steps.length}`}
      width="100%"
      role="img"
      aria-label={t('insights.funnelLabel', { visits: funnel.unique_visitors, bindings: funnel.bindings, buyers: funnel.buyers })}
      data-testid="funnel-chart"
    >
      {steps.map((s, i) => {
        const width = Math.max(4, Math.round((s.n / max) * (W - 8)));
        const y = i * ROW;
        return (
          <g key={s.label} data-testid={`funnel-step-${i}`} data-count={s.n}>
            <text x={0} y={y + 14} fontSize={13} fill="#333">
              {`${s.label} ${s.n}`}
              {s.note ? ` · ${s.note}` : ''}
            </text>
            <rect x={(W - width) / 2} y={y + 20} width={width} height={22} rx={4} fill={s.color} />
            {i > 0 && (
              <text x={W} y={y + 14} fontSize={12} fill="#666" textAnchor="end">
                {s.rate === null ? t('insights.rateNone') : t('insights.rate', { rate: formatBp(s.rate) })}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

/** My promotion: the funnel of my invite link and what it earned, over a range I choose. */
export function InsightsPage() {
  const { t } = useI18n();
  const { api } = useSession();
  const [days, setDays] = useState<Days>(30);
  const [funnel, setFunnel] = useState<AnalyticsFunnel | null>(null);
  const [earnings, setEarnings] = useState<MyEarnings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [today, setToday] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const query = today ? { from: shiftDay(today, -(days - 1)), to: today } : undefined;
    Promise.all([api.get<AnalyticsFunnel>('/v1/me/funnel', query), api.get<MyEarnings>('/v1/me/earnings', { ...query, interval: 'day' })]).then(
      ([f, e]) => {
        if (!live) return;
        setFunnel(f);
        setEarnings(e);
        setError(null);
        if (!today) setToday(f.range.to);
      },
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
    };
  }, [api, days, today]);

  if (error) return <ErrorBlock status="default" title={t('common.error', { message: error })} />;
  if (!funnel || !earnings)
    return (
      <div style={{ padding: 48, textAlign: 'center' }} role="status">
        {t('common.loading')}
        <DotLoading />
      </div>
    );
  return (
    <div style={{ padding: 12, display: 'flex', flexDirection: 'column', gap: 12 }}>
      <Selector
        aria-label={t('insights.title')}
        columns={3}
        value={[days]}
        onChange={(v) => v[0] && setDays(v[0])}
        options={RANGES.map((d) => ({ value: d, label: t(`insights.days${d}`) }))}
      />
      <div style={{ color: '#666', fontSize: 13 }} data-testid="insights-range">
        {t('insights.range', { days, from: funnel.range.from, to: funnel.range.to })}
      </div>
      <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t('insights.funnel')}</h2>}>
        <FunnelChart funnel={funnel} />
      </Card>
      <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t('insights.summary')}</h2>}>
        <Grid columns={3} gap={12}>
          {figureCell(t('insights.orderCount'), earnings.orders, 'insights-orders')}
          {figureCell(t('insights.sales'), <Money fen={earnings.sales_fen} />, 'insights-sales')}
          {figureCell(t('insights.commission'), <Money fen={earnings.commission_fen} strong />, 'insights-commission')}
        </Grid>
        <div style={{ marginTop: 16, color: '#666', fontSize: 13 }}>{t('insights.byDay')}</div>
        {earnings.points.some((p) => p.commission_fen !== 0) ? (
          <ColumnChart points={earnings.points.map((p) => ({ period: p.period, fen: p.commission_fen }))} label={t('insights.byDay')} testId="daily-chart" />
        ) : (
          <div style={{ color: '#999', padding: '12px 0' }}>{t('insights.noData')}</div>
        )}
        <div style={{ marginTop: 12, color: '#666', fontSize: 13 }}>{t('insights.balances')}</div>
        <Grid columns={3} gap={12} style={{ marginTop: 4 }}>
          {figureCell(t('earnings.withdrawable'), <Money fen={earnings.balances.withdrawable_fen} />, 'insights-withdrawable')}
          {figureCell(t('earnings.pending'), <Money fen={earnings.balances.pending_fen} />, 'insights-pending')}
          {figureCell(t('earnings.withdrawn'), <Money fen={earnings.balances.withdrawn_fen} />, 'insights-withdrawn')}
        </Grid>
      </Card>
    </div>
  );
}
