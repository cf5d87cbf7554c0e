import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { Button, Input, Select, Space, Table, Typography } from 'antd';
import { formatTime } from '../../../shared/format.ts';
import type { Distributor, DistributorStatus, Grade, Page } from '../../../shared/types.ts';
import { StatusTag } from '../components/StatusTag.tsx';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { GradeName } from '../components/GradeName.tsx';

const PAGE_SIZE = 20;
const STATUSES: DistributorStatus[] = ['active', 'pending', 'suspended', 'rejected'];

export interface Filters {
  q: string;
  status: DistributorStatus | '';
  grade: string;
}

/** A keyset-paged list: `cursors[i]` is where page i starts (null for the first). */
export function useDistributorPages(filters: Filters) {
  const { api } = useAuthed();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page<Distributor> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const current = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    setCursors([null]);
  }, [filters.q, filters.status, filters.grade]);

  useEffect(() => {
    let live = true;
    setPage(null);
    setError(null);
    api
      .get<Page<Distributor>>('/v1/distributors', {
        q: filters.q.trim() || undefined,
        status: filters.status || undefined,
        grade: filters.grade || undefined,
        cursor: current,
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
  }, [api, filters.q, filters.status, filters.grade, current, version]);

  return {
    page,
    error,
    pageNumber: cursors.length,
    next: () => page?.next_cursor && setCursors((c) => [...c, page.next_cursor]),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    reload: useCallback(() => setVersion((v) => v + 1), []),
  };
}

export function DistributorTable({
  page,
  extraColumns = [],
}: {
  page: Page<Distributor> | null;
  extraColumns?: Parameters<typeof Table<Distributor>>[0]['columns'];
}) {
  const { t, lang } = useI18n();
  return (
    <Table<Distributor>
      rowKey="id"
      loading={page === null}
      dataSource={page?.items ?? []}
      pagination={false}
      data-testid="distributors-table"
      locale={{ emptyText: t('distributors.empty') }}
      columns={[
        { title: t('distributors.name'), dataIndex: 'name', render: (name: string, d) => <Link to={`/distributors/${encodeURIComponent(d.id)}`}>{name}</Link> },
        { title: t('distributors.status'), dataIndex: 'status', render: (s: DistributorStatus) => <StatusTag status={s} /> },
        { title: t('distributors.grade'), dataIndex: 'grade', render: (g: string) => <GradeName code={g} /> },
        { title: t('distributors.inviteCode'), dataIndex: 'invite_code' },
        { title: t('distributors.phone'), dataIndex: 'phone', render: (p: string | null) => p ?? '—' },
        { title: t('distributors.externalId'), dataIndex: 'external_id', ellipsis: true },
        { title: t('distributors.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
        ...(extraColumns ?? []),
      ]}
    />
  );
}

export function Pager({ pageNumber, hasNext, onNext, onPrevious }: { pageNumber: number; hasNext: boolean; onNext: () => void; onPrevious: () => void }) {
  const { t } = useI18n();
  return (
    <Space>
      <Button onClick={onPrevious} disabled={pageNumber <= 1}>
        {t('common.previous')}
      </Button>
      <Typography.Text aria-live="polite">{pageNumber}</Typography.Text>
      <Button onClick={onNext} disabled={!hasNext} data-testid="next-page">
        {t('common.next')}
      </Button>
    </Space>
  );
}

export default function DistributorsPage() {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [filters, setFilters] = useState<Filters>({ q: '', status: '', grade: '' });
  const [grades, setGrades] = useState<Grade[]>([]);
  const pages = useDistributorPages(filters);

  useEffect(() => {
    api.get<{ items: Grade[] }>('/v1/grades').then(
      (r) => setGrades(r.items),
      () => setGrades([]),
    );
  }, [api]);

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('distributors.title')}
      </Typography.Title>
      <Space wrap role="search">
        <Input.Search
          aria-label={t('distributors.search')}
          placeholder={t('distributors.search')}
          allowClear
          enterButton={t('common.search')}
          style={{ width: 360 }}
          onSearch={(q) => setFilters((f) => ({ ...f, q }))}
          data-testid="distributor-search"
        />
        <Select
          aria-label={t('distributors.status')}
          style={{ width: 160 }}
          value={filters.status}
          onChange={(status) => setFilters((f) => ({ ...f, status }))}
          options={[{ value: '', label: `${t('distributors.status')}: ${t('common.all')}` }, ...STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))]}
        />
        <Select
          aria-label={t('distributors.grade')}
          style={{ width: 180 }}
          value={filters.grade}
          onChange={(grade) => setFilters((f) => ({ ...f, grade }))}
          options={[{ value: '', label: `${t('distributors.grade')}: ${t('common.all')}` }, ...grades.map((g) => ({ value: g.code, label: g.name }))]}
        />
      </Space>
      {pages.error && <Typography.Text type="danger">{t('common.error', { message: pages.error })}</Typography.Text>}
      <DistributorTable page={pages.page} />
      <Pager pageNumber={pages.pageNumber} hasNext={!!pages.page?.next_cursor} onNext={pages.next} onPrevious={pages.previous} />
    </Space>
  );
}
