import { useEffect, useState } from 'react';
import { Card, Col, Row, Statistic } from 'antd';
import { formatBp } from '../../../shared/format.ts';
import type { AnalyticsFunnel } from '../../../shared/types.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { Chart } from './Chart.tsx';
import { Money } from './money.tsx';

/** A distributor's conversion over the last 30 days: invite-link visits → bindings → orders (GET /v1/analytics/funnel). */
export function DistributorFunnel({ id }: { id: string }) {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [f, setF] = useState<AnalyticsFunnel | null>(null);
  useEffect(() => {
    api.get<AnalyticsFunnel>('/v1/analytics/funnel', { distributor_id: id }).then(setF, () => setF(null));
  }, [api, id]);
  if (!f) return null;
  const rate = (bp: number | null) => (bp === null ? '—' : formatBp(bp));
  const steps = [
    [t('funnel.unique'), f.unique_visitors],
    [t('funnel.bindings'), f.bindings],
    [t('funnel.buyers'), f.buyers],
  ] as const;
  return (
    <Card title={t('funnel.title')} data-testid="funnel">
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={12}>
          <Row gutter={[16, 16]}>
            <Col span={8}>
              <Statistic title={t('funnel.visits')} value={f.visits} />
            </Col>
            <Col span={8}>
              <Statistic title={t('funnel.bindings')} value={f.bindings} />
            </Col>
            <Col span={8}>
              <Statistic title={t('funnel.orders')} value={f.orders} />
            </Col>
            <Col span={12}>
              <Statistic title={t('funnel.pendingPayment')} value={f.pending_payment_orders} data-testid="funnel-pending-payment" />
            </Col>
            <Col span={12}>
              <Statistic title={t('funnel.closedUnpaid')} value={f.closed_orders} data-testid="funnel-closed-unpaid" />
            </Col>
            <Col span={8}>
              <Statistic title={t('funnel.visitToBinding')} value={rate(f.visit_to_binding_bp)} />
            </Col>
            <Col span={8}>
              <Statistic title={t('funnel.bindingToOrder')} value={rate(f.binding_to_order_bp)} />
            </Col>
            <Col span={8}>
              <Statistic title={t('funnel.visitToOrder')} value={rate(f.visit_to_order_bp)} />
            </Col>
            <Col span={12}>
              <Statistic title={t('dash.sales')} valueRender={() => <Money fen={f.sales_fen} />} />
            </Col>
            <Col span={12}>
              <Statistic title={t('dash.commission')} valueRender={() => <Money fen={f.commission_fen} />} />
            </Col>
          </Row>
        </Col>
        <Col xs={24} lg={12}>
          <Chart
            height={200}
            testId="funnel-chart"
            label={t('funnel.aria', { visits: f.visits, unique: f.unique_visitors, bindings: f.bindings, buyers: f.buyers, orders: f.orders })}
            option={{
              tooltip: {},
              grid: { left: 96, right: 24, top: 8, bottom: 24 },
              xAxis: { type: 'value', minInterval: 1 },
              yAxis: { type: 'category', inverse: true, data: steps.map(([label]) => label) },
              series: [{ type: 'bar', data: steps.map(([, v]) => v), itemStyle: { color: '#c2300a' }, barMaxWidth: 28 }],
            }}
          />
        </Col>
      </Row>
    </Card>
  );
}
