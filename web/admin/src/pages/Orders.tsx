import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { Button, Form, Input, Select, Space, Table, Typography } from 'antd';
import { formatTime, fromLocalInput } from '../../../shared/format.ts';
import type { Distributor, OrderStatus, OrderView, Page } from '../../../shared/types.ts';
import { messageOf } from '../components/errors.ts';
import { DistributorLink, Money, OrderStatusTag } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { Pager } from './Distributors.tsx';

const STATUSES: OrderStatus[] = ['pending_payment', 'paid', 'shipped', 'received', 'completed', 'refunded', 'cancelled', 'closed'];
const PAGE_SIZE = 20;

interface Filters {
  status: string;
  seller_id: string;
  buyer_external_id: string;
  from: string;
  to: string;
}

/** A distributor picked by searching its name, phone or invite code. */
export function DistributorPicker({
  value,
  onChange,
  ariaLabel,
  placeholder,
  testId,
}: {
  value?: string;
  onChange?: (id: string) => void;
  ariaLabel: string;
  placeholder: string;
  testId?: string;
}) {
  const { api } = useAuthed();
  const [options, setOptions] = useState<{ value: string; label: string }[]>([]);
  // A value given from outside (a link with ?seller_id=) is shown by its name, not its id.
  useEffect(() => {
    if (!value || options.some((o) => o.value === value)) return;
    api.get<Distributor>(`/v1/distributors/${encodeURIComponent(value)}`).then(
      (d) => setOptions((o) => [...o, { value: d.id, label: `${d.name} · ${d.invite_code}` }]),
      () => {},
    );
  }, [api, value, options]);
  async function search(q: string) {
    if (!q.trim()) {
      setOptions([]);
      return;
    }
    const page = await api.get<Page<Distributor>>('/v1/distributors', { q: q.trim(), limit: 20 });
    setOptions(page.items.map((d) => ({ value: d.id, label: `${d.name} · ${d.invite_code}` })));
  }
  return (
    <Select
      showSearch={{ filterOption: false, onSearch: (q) => void search(q) }}
      allowClear
      value={value || undefined}
      onChange={(v: string | undefined) => onChange?.(v ?? '')}
      aria-label={ariaLabel}
      placeholder={placeholder}
      style={{ width: 260 }}
      options={options}
      data-testid={testId}
      notFoundContent={null}
    />
  );
}

export default function OrdersPage() {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const [params] = useSearchParams();
  const [form] = Form.useForm<Filters>();
  const initial: Filters = { status: '', seller_id: params.get('seller_id') ?? '', buyer_external_id: params.get('buyer') ?? '', from: '', to: '' };
  const [filters, setFilters] = useState<Filters>(initial);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page<OrderView> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    let live = true;
    setPage(null);
    setError(null);
    api
      .get<Page<OrderView>>('/v1/orders', {
        status: filters.status || undefined,
        seller_id: filters.seller_id || undefined,
        buyer_external_id: filters.buyer_external_id.trim() || undefined,
        from: fromLocalInput(filters.from) ?? undefined,
        to: fromLocalInput(filters.to, true) ?? undefined,
        cursor,
        limit: PAGE_SIZE,
      })
      .then(
        (p) => {
          if (live) setPage(p);
        },
        (err: unknown) => {
          if (live) setError(messageOf(err));
        },
      );
    return () => {
      live = false;
    };
  }, [api, filters, cursor]);

  function apply(v: Filters) {
    setFilters({ status: v.status ?? '', seller_id: v.seller_id ?? '', buyer_external_id: v.buyer_external_id ?? '', from: v.from ?? '', to: v.to ?? '' });
    setCursors([null]);
  }

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('orders.title')}
      </Typography.Title>
      <Form form={form} layout="inline" initialValues={initial} onFinish={apply} role="search" aria-label={t('orders.filters')} style={{ rowGap: 12 }}>
        <Form.Item name="status" label={t('order.status')}>
          <Select
            style={{ width: 150 }}
            options={[{ value: '', label: t('common.all') }, ...STATUSES.map((s) => ({ value: s, label: t(`orderStatus.${s}`) }))]}
          />
        </Form.Item>
        <Form.Item name="seller_id" label={t('order.seller')}>
          <DistributorPicker ariaLabel={t('order.seller')} placeholder={t('orders.sellerSearch')} testId="seller-filter" />
        </Form.Item>
        <Form.Item name="buyer_external_id" label={t('order.buyer')}>
          <Input allowClear style={{ width: 180 }} />
        </Form.Item>
        <Form.Item name="from" label={t('orders.from')}>
          <Input type="date" style={{ width: 160 }} />
        </Form.Item>
        <Form.Item name="to" label={t('orders.to')}>
          <Input type="date" style={{ width: 160 }} />
        </Form.Item>
        <Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" data-testid="orders-apply">
              {t('common.search')}
            </Button>
            <Button
              onClick={() => {
                form.setFieldsValue({ status: '', seller_id: '', buyer_external_id: '', from: '', to: '' });
                apply({ status: '', seller_id: '', buyer_external_id: '', from: '', to: '' });
              }}
            >
              {t('common.reset')}
            </Button>
          </Space>
        </Form.Item>
      </Form>
      {error && <Typography.Text type="danger">{t('common.error', { message: error })}</Typography.Text>}
      <Table<OrderView>
        rowKey="id"
        loading={page === null && !error}
        dataSource={page?.items ?? []}
        pagination={false}
        data-testid="orders-table"
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: t('orders.empty') }}
        columns={[
          { title: t('order.externalId'), dataIndex: 'external_id', render: (v: string) => <Link to={`/orders/${encodeURIComponent(v)}`}>{v}</Link> },
          { title: t('order.status'), dataIndex: 'status', render: (s: string) => <OrderStatusTag status={s} /> },
          { title: t('order.buyer'), dataIndex: 'buyer_external_id' },
          { title: t('order.seller'), dataIndex: 'seller_id', render: (id: string | null) => <DistributorLink id={id} /> },
          { title: t('order.paid'), dataIndex: 'paid_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
          { title: t('order.refunded'), dataIndex: 'refunded_fen', align: 'right', render: (v: number) => (v ? <Money fen={v} /> : '—') },
          {
            title: t('order.commissionTotal'),
            key: 'commission',
            align: 'right',
            render: (_: unknown, o) => <Money fen={o.commissions.reduce((s, c) => s + c.amount_fen, 0)} />,
          },
          { title: t('order.paidAt'), dataIndex: 'paid_at', render: (v: string) => formatTime(v, lang) },
        ]}
      />
      <Pager
        pageNumber={cursors.length}
        hasNext={!!page?.next_cursor}
        onNext={() => page?.next_cursor && setCursors((c) => [...c, page.next_cursor])}
        onPrevious={() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c))}
      />
    </Space>
  );
}
