import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Alert, App, Button, Descriptions, Form, Input, Space, Table, Tag, Typography } from 'antd';
import { ApiError } from '../../../shared/api.ts';
import { formatTime } from '../../../shared/format.ts';
import type { CustomerBinding } from '../../../shared/types.ts';
import { useWord } from '../components/CommissionExplanation.tsx';
import { messageOf } from '../components/errors.ts';
import { DistributorLink, ReasonDialog } from '../components/money.tsx';
import { DistributorPicker } from './Orders.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

/**
 * A customer's binding by the shop's own user id: to whom, since when, how, and every change;
 * an operator moves it (or unbinds it) with a reason — audited, and past orders keep the chain
 * they were paid with.
 */
export default function CustomersPage() {
  const { t, lang } = useI18n();
  const word = useWord();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [params, setParams] = useSearchParams();
  const [draft, setDraft] = useState(params.get('id') ?? '');
  const [customer, setCustomer] = useState<CustomerBinding | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [moving, setMoving] = useState(false);

  async function lookup(id: string) {
    const trimmed = id.trim();
    if (!trimmed) return;
    setParams({ id: trimmed }, { replace: true });
    setLoading(true);
    setError(null);
    try {
      setCustomer(await api.get<CustomerBinding>(`/v1/customers/${encodeURIComponent(trimmed)}`));
    } catch (err) {
      setCustomer(null);
      setError(err instanceof ApiError && err.status === 404 ? t('customers.notFound') : t('common.error', { message: messageOf(err) }));
    } finally {
      setLoading(false);
    }
  }

  const actorWord = (type: string) => word('customers.actor', type);
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('customers.title')}
      </Typography.Title>
      <Space.Compact role="search" style={{ maxWidth: 520, width: '100%' }}>
        <Input
          aria-label={t('customers.lookup')}
          placeholder={t('customers.lookup')}
          value={draft}
          maxLength={128}
          onChange={(e) => setDraft(e.target.value)}
          onPressEnter={() => void lookup(draft)}
        />
        <Button type="primary" loading={loading} onClick={() => void lookup(draft)}>
          {t('customers.find')}
        </Button>
      </Space.Compact>
      {error && <Alert type="warning" showIcon title={error} data-testid="customer-error" />}
      {customer && (
        <Space direction="vertical" size="large" style={{ width: '100%' }} data-testid="customer-binding">
          <Descriptions bordered size="small" column={2} title={customer.customer_external_id}>
            <Descriptions.Item label={t('customers.boundTo')}>
              {customer.distributor_id ? <DistributorLink id={customer.distributor_id} testId="customer-bound-to" /> : t('customers.unbound')}
            </Descriptions.Item>
            <Descriptions.Item label={t('customers.boundAt')}>{customer.bound_at ? formatTime(customer.bound_at, lang) : '—'}</Descriptions.Item>
            <Descriptions.Item label={t('customers.source')}>{customer.source ? word('source', customer.source) : '—'}</Descriptions.Item>
            <Descriptions.Item label={t('customers.tentative')}>
              {customer.tentative_distributor_id ? <DistributorLink id={customer.tentative_distributor_id} /> : '—'}
            </Descriptions.Item>
          </Descriptions>
          {can('distributors:write') && (
            <Button onClick={() => setMoving(true)} style={{ alignSelf: 'flex-start' }}>
              {t('customers.move')}
            </Button>
          )}
          <Typography.Title level={2} style={{ fontSize: 16, margin: 0 }}>
            {t('customers.history')}
          </Typography.Title>
          <Table
            rowKey="id"
            size="small"
            pagination={false}
            dataSource={customer.history}
            data-testid="customer-history"
            locale={{ emptyText: t('customers.historyEmpty') }}
            scroll={{ x: 'max-content' }}
            columns={[
              { title: t('customers.event.at'), dataIndex: 'at', render: (v: string) => formatTime(v, lang), width: 170 },
              { title: t('customers.event.kind'), dataIndex: 'kind', render: (v: string) => <Tag>{word('customers.kind', v)}</Tag> },
              { title: t('customers.event.from'), dataIndex: 'from_distributor_id', render: (v: string | null) => <DistributorLink id={v} /> },
              { title: t('customers.event.to'), dataIndex: 'to_distributor_id', render: (v: string | null) => <DistributorLink id={v} /> },
              { title: t('customers.source'), dataIndex: 'source', render: (v: string) => word('source', v) },
              { title: t('common.reason'), dataIndex: 'reason', render: (v: string | null) => v ?? '—' },
              { title: t('customers.event.actor'), dataIndex: 'actor_type', render: (v: string) => actorWord(v) },
            ]}
          />
        </Space>
      )}
      <ReasonDialog
        open={moving}
        title={t('customers.moveTitle')}
        extra={
          <Form.Item name="distributor_id" label={t('customers.moveTo')}>
            <DistributorPicker ariaLabel={t('customers.moveTo')} placeholder={t('orders.sellerSearch')} testId="customer-move-to" />
          </Form.Item>
        }
        fields={[{ name: 'reason', label: t('common.reason') }]}
        onClose={() => setMoving(false)}
        onSubmit={async (v) => {
          if (!customer) return;
          const next = await api.post<CustomerBinding>(`/v1/customers/${encodeURIComponent(customer.customer_external_id)}/move`, {
            distributor_id: v.distributor_id ? v.distributor_id : null,
            reason: v.reason,
          });
          setCustomer(next);
          void message.success(t('customers.moved'));
        }}
      />
    </Space>
  );
}
