import { useEffect, useState } from 'react';
import { Button, Select, Space, Table, Tag, Typography } from 'antd';
import { formatTime } from '../../../shared/format.ts';
import type { Page, RiskEvent } from '../../../shared/types.ts';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

const STATUSES = ['open', 'released', 'confirmed', 'dismissed'] as const;

export default function RiskEventsPage() {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const [status, setStatus] = useState<string>('');
  const [items, setItems] = useState<RiskEvent[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setItems(null);
    api.get<Page<RiskEvent>>('/v1/risk-events', { status: status || undefined, limit: 50 }).then(
      (p) => {
        if (live) {
          setItems(p.items);
          setCursor(p.next_cursor);
        }
      },
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
    };
  }, [api, status]);

  async function more() {
    if (!cursor) return;
    const p = await api.get<Page<RiskEvent>>('/v1/risk-events', { status: status || undefined, limit: 50, cursor });
    setItems((prev) => [...(prev ?? []), ...p.items]);
    setCursor(p.next_cursor);
  }

  const statusLabel = (s: string) => ((STATUSES as readonly string[]).includes(s) ? t(`risk.status.${s as (typeof STATUSES)[number]}`) : s);
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('risk.title')}
      </Typography.Title>
      <Select
        aria-label={t('risk.status')}
        style={{ width: 180 }}
        value={status}
        onChange={setStatus}
        options={[{ value: '', label: `${t('risk.status')}: ${t('common.all')}` }, ...STATUSES.map((s) => ({ value: s, label: statusLabel(s) }))]}
      />
      {error && <Typography.Text type="danger">{t('common.error', { message: error })}</Typography.Text>}
      <Table<RiskEvent>
        rowKey="id"
        loading={items === null}
        dataSource={items ?? []}
        pagination={false}
        data-testid="risk-table"
        locale={{ emptyText: t('risk.empty') }}
        columns={[
          { title: t('risk.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang), width: 170 },
          { title: t('risk.kind'), dataIndex: 'kind', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
          {
            title: t('risk.severity'),
            dataIndex: 'severity',
            render: (v: string) => <Tag color={v === 'block' ? 'red' : v === 'hold' ? 'orange' : 'blue'}>{v}</Tag>,
          },
          { title: t('risk.subject'), key: 'subject', render: (_: unknown, e) => `${e.subject_type}${e.subject_id ? `: ${e.subject_id}` : ''}` },
          { title: t('risk.status'), dataIndex: 'status', render: (v: string) => statusLabel(v) },
          {
            title: t('risk.details'),
            dataIndex: 'details',
            render: (v: Record<string, unknown>) => (
              <Typography.Text code style={{ whiteSpace: 'pre-wrap' }}>
                {JSON.stringify(v)}
              </Typography.Text>
            ),
          },
        ]}
      />
      {cursor && <Button onClick={() => void more()}>{t('common.loadMore')}</Button>}
    </Space>
  );
}
