import { useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { Alert, App, Button, Card, Col, Descriptions, List, Row, Space, Spin, Table, Tag, Timeline, Typography } from 'antd';
import { formatBp, formatTime, formatYuan } from '../../../shared/format.ts';
import type { CommissionLine, OrderItem, OrderView } from '../../../shared/types.ts';
import { CommissionDrawer, useWord } from '../components/CommissionExplanation.tsx';
import { messageOf } from '../components/errors.ts';
import { CommissionStatusTag, DistributorLink, Money, OrderStatusTag, ReasonDialog } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { Attribution } from '../components/Attribution.tsx';

/** How a line's rate reads: "10.00%" or "¥2.00 × 3". */
export function rateText(c: Pick<CommissionLine, 'rate_kind' | 'rate_bp' | 'fixed_fen' | 'units'>): string {
  return c.rate_kind === 'percent' ? formatBp(c.rate_bp) : `${formatYuan(c.fixed_fen)} × ${c.units}`;
}

/** The order's life as its timestamps and lines tell it, oldest first. */
function timeline(o: OrderView, t: ReturnType<typeof useI18n>['t'], lang: string) {
  const items: { at: string; title: string; color: string; detail?: string }[] =
    o.paid_at === null
      ? [{ at: '', title: t('orderEvent.placed'), color: 'gold', detail: t('orderEvent.placedDetail') }]
      : [
          {
            at: o.paid_at,
            title: t('orderEvent.paid'),
            color: 'blue',
            detail: t('orderEvent.paidDetail', { paid: formatYuan(o.paid_fen), version: o.rule_version }),
          },
        ];
  if (o.shipped_at) items.push({ at: o.shipped_at, title: t('orderEvent.shipped'), color: 'blue' });
  if (o.received_at) items.push({ at: o.received_at, title: t('orderEvent.received'), color: 'blue', detail: t('orderEvent.receivedDetail') });
  if (o.completed_at) items.push({ at: o.completed_at, title: t('orderEvent.completed'), color: 'green', detail: t('orderEvent.completedDetail') });
  for (const c of o.commissions.filter((l) => l.kind === 'clawback')) {
    items.push({ at: c.created_at, title: t('orderEvent.clawback'), color: 'red', detail: formatYuan(c.amount_fen) });
  }
  items.sort((a, b) => a.at.localeCompare(b.at));
  if (o.refunded_fen > 0)
    items.push({ at: '', title: t('orderEvent.refunded', { refunded: formatYuan(o.refunded_fen), paid: formatYuan(o.paid_fen) }), color: 'red' });
  if (o.status === 'cancelled') items.push({ at: '', title: t('orderEvent.cancelled'), color: 'gray' });
  if (o.status === 'closed') items.push({ at: o.closed_at ?? '', title: t('orderEvent.closed'), color: 'gray' });
  return items.map((i, n) => ({
    key: n,
    color: i.color,
    title: i.at ? formatTime(i.at, lang) : undefined,
    content: (
      <span>
        <Typography.Text strong>{i.title}</Typography.Text>
        {i.detail ? (
          <>
            <br />
            <Typography.Text type="secondary">{i.detail}</Typography.Text>
          </>
        ) : null}
      </span>
    ),
  }));
}

export default function OrderDetailPage() {
  const { externalId = '' } = useParams();
  const { t, lang } = useI18n();
  const word = useWord();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [order, setOrder] = useState<OrderView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [explain, setExplain] = useState<string | null>(null);
  const [holding, setHolding] = useState<{ line: CommissionLine; hold: boolean } | null>(null);

  const load = useCallback(async () => {
    try {
      setOrder(await api.get<OrderView>(`/v1/orders/${encodeURIComponent(externalId)}`));
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  }, [api, externalId]);
  useEffect(() => {
    setOrder(null);
    void load();
  }, [load]);

  if (error) return <Alert type="error" showIcon title={t('common.error', { message: error })} />;
  if (!order) return <Spin />;
  const o = order;
  const mayHold = can('risk:write');
  const total = o.commissions.reduce((s, c) => s + c.amount_fen, 0);

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space align="center" wrap>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }} data-testid="order-title">
          {t('order.title', { id: o.external_id })}
        </Typography.Title>
        <OrderStatusTag status={o.status} />
      </Space>
      <Card>
        <Descriptions
          size="small"
          column={{ xs: 1, md: 2, xl: 3 }}
          items={[
            { key: 'id', label: t('order.id'), children: <Typography.Text copyable>{o.id}</Typography.Text> },
            { key: 'buyer', label: t('order.buyer'), children: o.buyer_external_id },
            { key: 'seller', label: t('order.seller'), children: <DistributorLink id={o.seller_id} testId="order-seller" /> },
            { key: 'attribution', label: t('order.attribution'), children: <Attribution value={o.attribution} /> },
            {
              key: 'tracking',
              label: t('order.tracking'),
              children: o.tracking_number ? (
                <Typography.Text copyable={{ text: o.tracking_number }} data-testid="order-tracking">
                  {`${o.tracking_carrier ?? ''} ${o.tracking_number}`.trim()}
                </Typography.Text>
              ) : (
                '—'
              ),
            },
            { key: 'paid', label: t('order.paid'), children: <Money fen={o.paid_fen} /> },
            { key: 'refunded', label: t('order.refunded'), children: <Money fen={o.refunded_fen} /> },
            { key: 'shipping', label: t('order.shipping'), children: <Money fen={o.shipping_fen} /> },
            { key: 'tax', label: t('order.tax'), children: <Money fen={o.tax_fen} /> },
            { key: 'commission', label: t('order.commissionTotal'), children: <Money fen={total} strong /> },
            {
              key: 'rule',
              label: t('order.ruleVersion'),
              children: <Link to={`/rules?version=${o.rule_version}`}>{t('order.ruleVersionValue', { version: o.rule_version })}</Link>,
            },
            { key: 'paidAt', label: t('order.paidAt'), children: formatTime(o.paid_at, lang) },
            { key: 'journal', label: t('order.journal'), children: <Link to={`/ledger?ref_id=${encodeURIComponent(o.id)}`}>{t('order.journalLink')}</Link> },
          ]}
        />
      </Card>

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={10}>
          <Card title={t('order.timeline')}>
            <Timeline items={timeline(o, t, lang)} data-testid="order-timeline" />
            <Typography.Text type="secondary">{t('order.timelineNote')}</Typography.Text>
          </Card>
        </Col>
        <Col xs={24} xl={14}>
          <Card title={t('order.chain')}>
            <Typography.Paragraph type="secondary">{t('order.chainHint')}</Typography.Paragraph>
            {o.chain.length === 0 ? (
              <Typography.Text type="secondary">{t('order.noSeller')}</Typography.Text>
            ) : (
              <List
                size="small"
                dataSource={o.chain.map((id, level) => ({ id, level }))}
                data-testid="order-chain"
                renderItem={(c) => (
                  <List.Item>
                    <Space>
                      <Tag>{c.level === 0 ? t('explain.chainSeller') : t('explain.chainUpline', { level: c.level })}</Tag>
                      <DistributorLink id={c.id} />
                    </Space>
                  </List.Item>
                )}
              />
            )}
          </Card>
        </Col>
      </Row>

      <Card title={t('order.items')}>
        <Table<OrderItem>
          size="small"
          rowKey="position"
          pagination={false}
          dataSource={o.items}
          data-testid="order-items"
          columns={[
            { title: '#', dataIndex: 'position', render: (v: number) => v + 1 },
            { title: t('order.sku'), dataIndex: 'sku' },
            { title: t('order.quantity'), dataIndex: 'quantity', align: 'right' },
            { title: t('order.unitPrice'), dataIndex: 'unit_price_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
            { title: t('order.linePaid'), dataIndex: 'paid_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
            {
              title: t('order.refunded'),
              dataIndex: 'refunded_fen',
              align: 'right',
              render: (v: number, i) =>
                v ? (
                  <>
                    {<Money fen={v} />} ({i.refunded_quantity})
                  </>
                ) : (
                  '—'
                ),
            },
          ]}
        />
      </Card>

      <Card title={t('order.commissions')}>
        <Table<CommissionLine>
          size="small"
          rowKey="id"
          pagination={false}
          dataSource={o.commissions}
          data-testid="order-commissions"
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('order.noCommissions') }}
          columns={[
            { title: t('commission.beneficiary'), dataIndex: 'beneficiary_id', render: (id: string) => <DistributorLink id={id} /> },
            {
              title: t('commission.level'),
              dataIndex: 'level',
              render: (l: number) => (l === 0 ? t('commission.level0') : t('commission.levelK', { level: l })),
            },
            { title: t('commission.kind'), dataIndex: 'kind', render: (k: string) => word('commissionKind', k) },
            { title: t('order.sku'), dataIndex: 'sku', render: (v: string | null) => v ?? '—' },
            { title: t('commission.base'), dataIndex: 'base_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
            { title: t('commission.rate'), key: 'rate', render: (_: unknown, c) => rateText(c) },
            { title: t('commission.source'), dataIndex: 'rate_source', render: (v: string) => word('rateSource', v) },
            { title: t('commission.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} strong /> },
            { title: t('commission.status'), dataIndex: 'status', render: (s: string, c) => <CommissionStatusTag status={s} held={c.held} /> },
            {
              title: t('common.actions'),
              key: 'actions',
              render: (_: unknown, c) => (
                <Space>
                  <Button size="small" onClick={() => setExplain(c.id)} data-testid={`explain-${c.id}`}>
                    {t('commission.explain')}
                  </Button>
                  {mayHold &&
                    (c.status === 'pending' || c.status === 'available') &&
                    (c.held ? (
                      <Button size="small" onClick={() => setHolding({ line: c, hold: false })}>
                        {t('commission.release')}
                      </Button>
                    ) : (
                      c.statement_id === null && (
                        <Button size="small" danger onClick={() => setHolding({ line: c, hold: true })}>
                          {t('commission.hold')}
                        </Button>
                      )
                    ))}
                </Space>
              ),
            },
          ]}
        />
      </Card>

      <CommissionDrawer id={explain} onClose={() => setExplain(null)} />
      <ReasonDialog
        open={holding !== null}
        title={holding?.hold ? t('commission.hold') : t('commission.release')}
        danger={holding?.hold}
        fields={[{ name: 'reason', label: t('common.reason') }]}
        onClose={() => setHolding(null)}
        onSubmit={async (v) => {
          if (!holding) return;
          await api.post(`/v1/commissions/${encodeURIComponent(holding.line.id)}/${holding.hold ? 'hold' : 'release'}`, { reason: v.reason });
          void message.success(holding.hold ? t('commission.heldDone') : t('commission.releasedDone'));
          await load();
        }}
      />
    </Space>
  );
}
