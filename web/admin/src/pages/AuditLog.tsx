import { useEffect, useState } from 'react';
import { Button, Input, Space, Table, Typography } from 'antd';
import { formatTime } from '../../../shared/format.ts';
import type { AuditEntry, Page } from '../../../shared/types.ts';
import { AuditVerify } from '../components/AuditVerify.tsx';
import { JsonDiff } from '../components/JsonDiff.tsx';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

interface Filters {
  action: string;
  target_type: string;
  target_id: string;
}

export default function AuditLogPage() {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const [draft, setDraft] = useState<Filters>({ action: '', target_type: '', target_id: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const [items, setItems] = useState<AuditEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);

  function fetchPage(after: string | null) {
    return api.get<Page<AuditEntry>>('/v1/audit-log', { ...filters, cursor: after, limit: 50 });
  }

  useEffect(() => {
    let live = true;
    setItems(null);
    fetchPage(null).then(
      (p) => {
        if (live) {
          setItems(p.items);
          setCursor(p.next_cursor);
          setError(null);
        }
      },
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, filters]);

  async function more() {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const p = await fetchPage(cursor);
      setItems((prev) => [...(prev ?? []), ...p.items]);
      setCursor(p.next_cursor);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setLoadingMore(false);
    }
  }

  const field = (key: keyof Filters, label: string) => (
    <Input
      aria-label={label}
      placeholder={label}
      value={draft[key]}
      allowClear
      style={{ width: 200 }}
      onChange={(e) => setDraft((d) => ({ ...d, [key]: e.target.value }))}
      onPressEnter={() => setFilters(draft)}
    />
  );

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('audit.title')}
      </Typography.Title>
      <AuditVerify />
      <Space wrap role="search">
        {field('action', t('audit.action'))}
        {field('target_type', t('audit.targetType'))}
        {field('target_id', t('audit.targetId'))}
        <Button type="primary" onClick={() => setFilters(draft)}>
          {t('common.search')}
        </Button>
      </Space>
      {error && <Typography.Text type="danger">{t('common.error', { message: error })}</Typography.Text>}
      <Table<AuditEntry>
        rowKey="id"
        loading={items === null}
        dataSource={items ?? []}
        pagination={false}
        data-testid="audit-table"
        locale={{ emptyText: t('audit.empty') }}
        expandable={{ expandedRowRender: (e) => <JsonDiff before={e.before} after={e.after} /> }}
        columns={[
          { title: t('audit.at'), dataIndex: 'at', render: (v: string) => formatTime(v, lang), width: 170 },
          { title: t('audit.action'), dataIndex: 'action', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
          { title: t('audit.actor'), key: 'actor', render: (_: unknown, e) => `${e.actor_type}${e.actor_id ? `:${e.actor_id}` : ''}` },
          { title: t('audit.target'), key: 'target', render: (_: unknown, e) => `${e.target_type}${e.target_id ? `:${e.target_id}` : ''}` },
          { title: t('audit.reason'), dataIndex: 'reason', render: (v: string | null) => v ?? '—' },
          { title: t('audit.requestId'), dataIndex: 'request_id', render: (v: string | null) => v ?? '—', ellipsis: true },
        ]}
      />
      {cursor && (
        <Button onClick={() => void more()} loading={loadingMore}>
          {t('common.loadMore')}
        </Button>
      )}
    </Space>
  );
}
