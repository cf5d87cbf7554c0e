import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { Alert, App, Button, Card, Descriptions, Form, Input, Popconfirm, Progress, Radio, Select, Space, Table, Tabs, Typography } from 'antd';
import { formatTime, formatYuan, fromLocalInput, toLocalInput } from '../../../shared/format.ts';
import type { CommissionLine, Page, SettlementJob, SettlementRun, Statement, StatementDetail, StatementLine, StatementStatus } from '../../../shared/types.ts';
import { CommissionDrawer } from '../components/CommissionExplanation.tsx';
import { ExportButton } from '../components/ExportButton.tsx';
import { messageOf } from '../components/errors.ts';
import { CommissionStatusTag, DistributorLink, Money, ReasonDialog, StatementStatusTag } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { Pager } from './Distributors.tsx';
import { DistributorPicker } from './Orders.tsx';
import { rateText } from './OrderDetail.tsx';

function StatementTable({
  items,
  loading,
  actions,
  testId,
  expandable = true,
}: {
  items: Statement[];
  loading?: boolean;
  testId: string;
  expandable?: boolean;
  actions?: (s: Statement) => ReactNode;
}) {
  const { t, lang } = useI18n();
  return (
    <Table<Statement>
      rowKey="id"
      size="small"
      loading={loading}
      dataSource={items}
      pagination={false}
      data-testid={testId}
      scroll={{ x: 'max-content' }}
      locale={{ emptyText: t('settlement.noStatements') }}
      expandable={
        expandable ? { expandedRowRender: (s) => <StatementLines id={s.id} />, rowExpandable: (s) => s.line_count > 0 && s.status !== 'rejected' } : undefined
      }
      columns={[
        { title: t('settlement.statement'), dataIndex: 'id', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
        { title: t('settlement.distributor'), dataIndex: 'distributor_id', render: (id: string) => <DistributorLink id={id} /> },
        { title: t('settlement.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} strong /> },
        { title: t('settlement.debtOffset'), dataIndex: 'debt_offset_fen', align: 'right', render: (v: number) => (v ? <Money fen={v} /> : '—') },
        { title: t('settlement.lines'), dataIndex: 'line_count', align: 'right' },
        { title: t('settlement.status'), dataIndex: 'status', render: (s: string) => <StatementStatusTag status={s} /> },
        { title: t('settlement.periodEnd'), dataIndex: 'period_end', render: (v: string) => formatTime(v, lang) },
        { title: t('settlement.reviewReason'), dataIndex: 'review_reason', render: (v: string | null) => v ?? '—' },
        ...(actions ? [{ title: t('common.actions'), key: 'actions', render: (_: unknown, s: Statement) => actions(s) }] : []),
      ]}
    />
  );
}

/** A statement's lines, loaded when its row opens; each line explains itself. */
function StatementLines({ id }: { id: string }) {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [detail, setDetail] = useState<StatementDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [explain, setExplain] = useState<string | null>(null);
  useEffect(() => {
    api.get<StatementDetail>(`/v1/statements/${encodeURIComponent(id)}`).then(setDetail, (err: unknown) => setError(messageOf(err)));
  }, [api, id]);
  if (error) return <Typography.Text type="danger">{t('common.error', { message: error })}</Typography.Text>;
  return (
    <>
      <Table<StatementLine>
        rowKey="id"
        size="small"
        loading={!detail}
        dataSource={detail?.lines ?? []}
        pagination={false}
        data-testid={`statement-lines-${id}`}
        columns={[
          { title: t('order.externalId'), dataIndex: 'order_external_id' },
          {
            title: t('commission.level'),
            dataIndex: 'level',
            render: (l: number) => (l === 0 ? t('commission.level0') : t('commission.levelK', { level: l })),
          },
          { title: t('commission.base'), dataIndex: 'base_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
          { title: t('commission.rate'), dataIndex: 'rate_bp', render: (v: number) => rateText({ rate_kind: 'percent', rate_bp: v, fixed_fen: 0, units: 0 }) },
          { title: t('commission.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
          { title: t('commission.status'), dataIndex: 'status', render: (s: string) => <CommissionStatusTag status={s} /> },
          {
            title: '',
            key: 'explain',
            render: (_: unknown, l) => (
              <Button size="small" onClick={() => setExplain(l.id)}>
                {t('commission.explain')}
              </Button>
            ),
          },
        ]}
      />
      <CommissionDrawer id={explain} onClose={() => setExplain(null)} />
    </>
  );
}

function RunSettlement({ onRan }: { onRan: () => void }) {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [asOf, setAsOf] = useState(() => toLocalInput(new Date()));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SettlementRun | null>(null);
  const [job, setJob] = useState<SettlementJob | null>(null);
  const writable = can('finance:write');

  // The run goes to the background (a large one takes minutes); the page polls its progress.
  async function run() {
    const iso = fromLocalInput(asOf);
    if (!iso) {
      void message.error(t('settlement.asOfInvalid'));
      return;
    }
    setBusy(true);
    setResult(null);
    try {
      let current = await api.post<SettlementJob>('/v1/settlements/jobs', { as_of: iso });
      setJob(current);
      while (current.status === 'running') {
        await new Promise((r) => setTimeout(r, 500));
        current = await api.get<SettlementJob>(`/v1/settlements/jobs/${encodeURIComponent(current.id)}`);
        setJob(current);
      }
      if (current.status === 'failed' || !current.result) throw new Error(current.error?.message ?? 'failed');
      setResult(current.result);
      void message.success(t('settlement.ran'));
      onRan();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
      setJob(null);
    }
  }

  const total = result?.statements.reduce((s, x) => s + x.amount_fen, 0) ?? 0;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Alert type="info" showIcon title={t('settlement.runHint')} />
      {!writable && <Alert type="warning" showIcon title={t('common.readOnly')} />}
      <Form layout="inline">
        <Form.Item label={t('settlement.asOf')} htmlFor="settlement-as-of">
          <Input
            id="settlement-as-of"
            type="datetime-local"
            value={asOf}
            onChange={(e) => setAsOf(e.target.value)}
            style={{ width: 240 }}
            disabled={!writable}
          />
        </Form.Item>
        <Form.Item>
          <Popconfirm
            title={t('settlement.runConfirm')}
            okText={t('common.confirm')}
            cancelText={t('common.cancel')}
            onConfirm={() => void run()}
            disabled={!writable}
          >
            <Button type="primary" loading={busy} disabled={!writable} data-testid="settlement-run">
              {t('settlement.run')}
            </Button>
          </Popconfirm>
        </Form.Item>
      </Form>
      {job && job.status === 'running' && (
        <div data-testid="settlement-progress">
          <Typography.Text>
            {job.total === null ? t('settlement.progressStarting') : t('settlement.progress', { done: job.done, total: job.total })}
          </Typography.Text>
          <Progress percent={job.total ? Math.floor((job.done * 100) / job.total) : 0} status="active" />
        </div>
      )}
      {result && (
        <Card size="small" title={t('settlement.result')} data-testid="settlement-result">
          <Descriptions
            size="small"
            column={{ xs: 1, md: 4 }}
            items={[
              { key: 'run', label: t('settlement.runId'), children: <Typography.Text code>{result.run_id}</Typography.Text> },
              { key: 'made', label: t('settlement.madeAvailable'), children: result.made_available },
              { key: 'count', label: t('settlement.statementCount'), children: result.statements.length },
              { key: 'total', label: t('settlement.total'), children: <Money fen={total} strong testId="settlement-total" /> },
            ]}
          />
          <StatementTable items={result.statements} testId="settlement-result-table" />
        </Card>
      )}
    </Space>
  );
}

function Statements({ version: outer, onChanged }: { version: number; onChanged: () => void }) {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  // Every statement at first: most are approved automatically, and a list filtered on "pending
  // review" opened empty although statements existed (issue 16, item 17).
  const [status, setStatus] = useState<StatementStatus | ''>('');
  const [distributor, setDistributor] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page<Statement> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [rejecting, setRejecting] = useState<Statement | null>(null);
  const cursor = cursors[cursors.length - 1] ?? null;
  const approver = can('finance:approve');

  useEffect(() => {
    let live = true;
    setPage(null);
    setError(null);
    api.get<Page<Statement>>('/v1/statements', { status: status || undefined, distributor_id: distributor || undefined, cursor, limit: 20 }).then(
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
  }, [api, status, distributor, cursor, version, outer]);

  const reload = useCallback(() => {
    setVersion((v) => v + 1);
    onChanged();
  }, [onChanged]);

  async function approve(s: Statement) {
    try {
      const after = await api.post<Statement>(`/v1/statements/${encodeURIComponent(s.id)}/approve`, {});
      void message.success(t('settlement.approved', { amount: formatYuan(after.amount_fen) }));
      reload();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space wrap>
        <Select
          aria-label={t('settlement.status')}
          style={{ width: 180 }}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setCursors([null]);
          }}
          data-testid="statement-status-filter"
          options={[
            { value: '', label: `${t('settlement.status')}: ${t('common.all')}` },
            ...(['pending_review', 'approved', 'rejected'] as const).map((s) => ({ value: s, label: t(`statementStatus.${s}`) })),
          ]}
        />
        <DistributorPicker
          value={distributor}
          onChange={(v) => {
            setDistributor(v);
            setCursors([null]);
          }}
          ariaLabel={t('settlement.distributor')}
          placeholder={t('orders.sellerSearch')}
        />
        <ExportButton
          kind="statements"
          testId="export-statements"
          filters={{ ...(status ? { status: [status] } : {}), ...(distributor ? { distributor_id: distributor } : {}) }}
        />
      </Space>
      {error && <Typography.Text type="danger">{t('common.error', { message: error })}</Typography.Text>}
      <StatementTable
        items={page?.items ?? []}
        loading={page === null && !error}
        testId="statements-table"
        actions={(s) =>
          approver && s.status === 'pending_review' ? (
            <Space>
              <Popconfirm title={t('settlement.approveConfirm')} okText={t('common.confirm')} cancelText={t('common.cancel')} onConfirm={() => void approve(s)}>
                <Button size="small" type="primary" data-testid={`approve-${s.id}`}>
                  {t('settlement.approve')}
                </Button>
              </Popconfirm>
              <Button size="small" danger onClick={() => setRejecting(s)} data-testid={`reject-${s.id}`}>
                {t('settlement.reject')}
              </Button>
            </Space>
          ) : null
        }
      />
      <Pager
        pageNumber={cursors.length}
        hasNext={!!page?.next_cursor}
        onNext={() => page?.next_cursor && setCursors((c) => [...c, page.next_cursor])}
        onPrevious={() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c))}
      />
      <ReasonDialog
        open={rejecting !== null}
        title={t('settlement.rejectTitle')}
        danger
        extra={
          <Form.Item name="lines" label={t('settlement.linesAfter')} initialValue="available">
            <Radio.Group
              options={[
                { value: 'available', label: t('settlement.linesAvailable') },
                { value: 'hold', label: t('settlement.linesHold') },
              ]}
            />
          </Form.Item>
        }
        fields={[{ name: 'reason', label: t('common.reason') }]}
        onClose={() => setRejecting(null)}
        onSubmit={async (v) => {
          if (!rejecting) return;
          await api.post(`/v1/statements/${encodeURIComponent(rejecting.id)}/reject`, { reason: v.reason, lines: v.lines === 'hold' ? 'hold' : 'available' });
          void message.success(t('settlement.rejected'));
          reload();
        }}
      />
    </Space>
  );
}

interface HeldLine extends CommissionLine {
  distributor_id: string;
}

/**
 * Held lines wait for a person before they can be settled. The API has no tenant-wide list of
 * held lines yet, so this looks at the distributors whose statements were rejected (the usual
 * way lines come to be held) and any distributor looked up here, and lists their held lines.
 */
function HeldLines({ version }: { version: number }) {
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [extra, setExtra] = useState<string[]>([]);
  const [lines, setLines] = useState<HeldLine[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [releasing, setReleasing] = useState<HeldLine | null>(null);
  const [explain, setExplain] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let live = true;
    setLines(null);
    setError(null);
    (async () => {
      const rejected = await api.get<Page<Statement>>('/v1/statements', { status: 'rejected', limit: 200 });
      const ids = [...new Set([...rejected.items.map((s) => s.distributor_id), ...extra])];
      const found: HeldLine[] = [];
      for (const id of ids) {
        for (const status of ['available', 'pending'] as const) {
          const page = await api.get<Page<CommissionLine>>(`/v1/distributors/${encodeURIComponent(id)}/commissions`, { status, limit: 500 });
          found.push(...page.items.filter((c) => c.held).map((c) => ({ ...c, distributor_id: id })));
        }
      }
      return found;
    })().then(
      (f) => {
        if (live) setLines(f);
      },
      (err: unknown) => {
        if (live) setError(messageOf(err));
      },
    );
    return () => {
      live = false;
    };
  }, [api, extra, version, reloads]);

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Alert type="info" showIcon title={t('settlement.heldHint')} />
      <Space wrap>
        <Typography.Text>{t('settlement.heldLookup')}</Typography.Text>
        <DistributorPicker
          ariaLabel={t('settlement.heldLookup')}
          placeholder={t('orders.sellerSearch')}
          onChange={(id) => id && setExtra((e) => (e.includes(id) ? e : [...e, id]))}
        />
      </Space>
      {error && <Typography.Text type="danger">{t('common.error', { message: error })}</Typography.Text>}
      <Table<HeldLine>
        rowKey="id"
        size="small"
        loading={lines === null && !error}
        dataSource={lines ?? []}
        pagination={false}
        data-testid="held-table"
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: t('settlement.noHeld') }}
        columns={[
          { title: t('commission.beneficiary'), dataIndex: 'distributor_id', render: (id: string) => <DistributorLink id={id} /> },
          { title: t('order.externalId'), dataIndex: 'order_external_id' },
          {
            title: t('commission.level'),
            dataIndex: 'level',
            render: (l: number) => (l === 0 ? t('commission.level0') : t('commission.levelK', { level: l })),
          },
          { title: t('commission.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
          { title: t('commission.status'), dataIndex: 'status', render: (s: string, c) => <CommissionStatusTag status={s} held={c.held} /> },
          { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_: unknown, c) => (
              <Space>
                <Button size="small" onClick={() => setExplain(c.id)}>
                  {t('commission.explain')}
                </Button>
                {can('risk:write') && (
                  <Button size="small" onClick={() => setReleasing(c)} data-testid={`release-${c.id}`}>
                    {t('commission.release')}
                  </Button>
                )}
              </Space>
            ),
          },
        ]}
      />
      <CommissionDrawer id={explain} onClose={() => setExplain(null)} />
      <ReasonDialog
        open={releasing !== null}
        title={t('commission.release')}
        fields={[{ name: 'reason', label: t('common.reason') }]}
        onClose={() => setReleasing(null)}
        onSubmit={async (v) => {
          if (!releasing) return;
          await api.post(`/v1/commissions/${encodeURIComponent(releasing.id)}/release`, { reason: v.reason });
          void message.success(t('commission.releasedDone'));
          setReloads((n) => n + 1);
        }}
      />
    </Space>
  );
}

export default function SettlementPage() {
  const { t } = useI18n();
  const [version, setVersion] = useState(0);
  const changed = useCallback(() => setVersion((v) => v + 1), []);
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('settlement.title')}
      </Typography.Title>
      <Tabs
        defaultActiveKey="statements"
        items={[
          { key: 'run', label: t('settlement.tabRun'), children: <RunSettlement onRan={changed} /> },
          { key: 'statements', label: t('settlement.tabStatements'), children: <Statements version={version} onChanged={changed} /> },
          { key: 'held', label: t('settlement.tabHeld'), children: <HeldLines version={version} /> },
        ]}
      />
    </Space>
  );
}
