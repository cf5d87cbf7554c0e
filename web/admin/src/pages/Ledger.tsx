import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Alert, Button, Card, Descriptions, Empty, Input, Progress, Result, Space, Table, Typography } from 'antd';
import { SafetyCertificateOutlined } from '@ant-design/icons';
import { formatTime } from '../../../shared/format.ts';
import type { JournalEntry, LedgerReport } from '../../../shared/types.ts';
import { useWord } from '../components/CommissionExplanation.tsx';
import { messageOf } from '../components/errors.ts';
import { Money } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

/** One verification as the API answers it (GET /v1/ledger/verify and the background job). */
interface Verification extends LedgerReport {
  mode: 'full' | 'incremental';
  since_posting_id: number | null;
  checkpoint_posting_id: number | null;
  full_only: string[];
  started_at: string;
  finished_at: string;
  duration_ms: number;
}

interface VerifyJob {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  mode: 'full' | 'incremental';
  done: number;
  total: number | null;
  result: Verification | null;
  error: { code: string; message: string } | null;
}

interface VerifyStatus {
  last: Verification | null;
  checkpoint: { posting_id: number; at: string } | null;
  last_full_at: string | null;
  job: VerifyJob | null;
}

const active = (j: VerifyJob | null) => j !== null && (j.status === 'queued' || j.status === 'running');

/**
 * The last verification, shown at once (opening the page checks nothing: a full pass over a large
 * ledger takes seconds, and on the embedded database it would hold up every other request). A new
 * one runs as a background job, incremental (what was written since the last clean checkpoint) or
 * full, and the page follows its progress.
 */
function Verify() {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const [status, setStatus] = useState<VerifyStatus | null>(null);
  const [job, setJob] = useState<VerifyJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const live = useRef(true);

  async function follow(start: VerifyJob) {
    let current = start;
    setJob(current);
    while (active(current) && live.current) {
      await new Promise((r) => setTimeout(r, 500));
      current = await api.get<VerifyJob>(`/v1/ledger/verify/jobs/${encodeURIComponent(current.id)}`);
      if (live.current) setJob(current);
    }
    if (!live.current) return;
    if (current.status !== 'done') setError(current.error?.message ?? current.status);
    setStatus(await api.get<VerifyStatus>('/v1/ledger/verifications/last'));
    setJob(null);
  }

  async function run(mode: 'full' | 'incremental') {
    setError(null);
    try {
      await follow(await api.post<VerifyJob>('/v1/ledger/verify/jobs', { mode }));
    } catch (err) {
      setError(messageOf(err));
      setJob(null);
    }
  }

  useEffect(() => {
    live.current = true;
    api.get<VerifyStatus>('/v1/ledger/verifications/last').then(
      (s) => {
        if (!live.current) return;
        setStatus(s);
        // A verification still under way (started here before, or elsewhere): follow it.
        if (s.job && active(s.job)) void follow(s.job).catch((err: unknown) => setError(messageOf(err)));
      },
      (err: unknown) => {
        if (live.current) setError(messageOf(err));
      },
    );
    return () => {
      live.current = false;
    };
  }, [api]); // eslint-disable-line react-hooks/exhaustive-deps -- once on open

  const report = status?.last ?? null;
  const busy = active(job);
  return (
    <Card
      title={t('ledger.verify')}
      extra={
        <Space wrap>
          <Button
            type="primary"
            icon={<SafetyCertificateOutlined />}
            loading={busy && job?.mode === 'incremental'}
            disabled={busy || status === null}
            onClick={() => void run('incremental')}
            data-testid="ledger-verify"
          >
            {t('ledger.verifyNew')}
          </Button>
          <Button loading={busy && job?.mode === 'full'} disabled={busy || status === null} onClick={() => void run('full')} data-testid="ledger-verify-full">
            {t('ledger.verifyFull')}
          </Button>
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t('ledger.verifyHint')}</Typography.Paragraph>
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      {busy && job && (
        <div data-testid="ledger-progress" style={{ marginBottom: 16 }}>
          <Typography.Text>
            {job.total === null ? t('ledger.running', { done: job.done, total: '…' }) : t('ledger.running', { done: job.done, total: job.total })}
          </Typography.Text>
          <Progress percent={job.total ? Math.floor((job.done * 100) / job.total) : 0} status="active" />
        </div>
      )}
      {status && !report && <Empty description={<span data-testid="ledger-never">{t('ledger.never')}</span>} />}
      {report && (
        <Space direction="vertical" style={{ width: '100%' }} data-testid="ledger-report">
          {report.ok ? (
            <Result
              status="success"
              title={<span data-testid="ledger-ok">{t('ledger.ok')}</span>}
              subTitle={
                <span data-testid="ledger-last">
                  {t('ledger.lastRun', {
                    mode: t(report.mode === 'full' ? 'ledger.modeFull' : 'ledger.modeIncremental'),
                    at: formatTime(report.finished_at, lang),
                    ms: report.duration_ms,
                  })}
                </span>
              }
              style={{ padding: 16 }}
            />
          ) : (
            <Alert
              type="error"
              showIcon
              title={<span data-testid="ledger-broken">{t('ledger.broken', { n: report.breaks.length })}</span>}
              description={t('ledger.lastRun', {
                mode: t(report.mode === 'full' ? 'ledger.modeFull' : 'ledger.modeIncremental'),
                at: formatTime(report.finished_at, lang),
                ms: report.duration_ms,
              })}
            />
          )}
          <Descriptions
            size="small"
            column={{ xs: 1, md: 2 }}
            items={[
              {
                key: 'cp',
                label: t('ledger.checkpoint'),
                children: status?.checkpoint ? (
                  <span data-testid="ledger-checkpoint">
                    {t('ledger.checkpointAt', { id: status.checkpoint.posting_id, at: formatTime(status.checkpoint.at, lang) })}
                  </span>
                ) : (
                  '—'
                ),
              },
              { key: 'full', label: t('ledger.lastFull'), children: status?.last_full_at ? formatTime(status.last_full_at, lang) : '—' },
            ]}
          />
          <Descriptions
            size="small"
            column={{ xs: 2, md: 4 }}
            items={[
              { key: 'j', label: t('ledger.journals'), children: report.checked.journals },
              { key: 'p', label: t('ledger.postings'), children: report.checked.postings },
              { key: 'a', label: t('ledger.accounts'), children: report.checked.accounts },
              { key: 'c', label: t('ledger.commissions'), children: report.checked.commissions },
            ]}
          />
          {report.mode === 'incremental' && report.full_only.length > 0 && (
            <Typography.Paragraph type="secondary">{t('ledger.fullOnly', { list: report.full_only.join('; ') })}</Typography.Paragraph>
          )}
          {!report.ok && (
            <Table
              size="small"
              rowKey={(b) => `${b.invariant}|${b.subject}|${b.detail}`}
              pagination={{ pageSize: 50, hideOnSinglePage: true }}
              dataSource={report.breaks}
              data-testid="ledger-breaks"
              columns={[
                { title: t('ledger.invariant'), dataIndex: 'invariant' },
                { title: t('ledger.subject'), dataIndex: 'subject', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
                { title: t('ledger.detail'), dataIndex: 'detail' },
              ]}
            />
          )}
        </Space>
      )}
    </Card>
  );
}

function Journals() {
  const { t, lang } = useI18n();
  const word = useWord();
  const { api } = useAuthed();
  const [params, setParams] = useSearchParams();
  const refId = params.get('ref_id') ?? '';
  const [entries, setEntries] = useState<JournalEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!refId) {
      setEntries(null);
      return undefined;
    }
    let live = true;
    setEntries(null);
    setError(null);
    api.get<{ items: JournalEntry[] }>('/v1/journal-entries', { ref_id: refId }).then(
      (r) => {
        if (live) setEntries(r.items);
      },
      (err: unknown) => {
        if (live) setError(messageOf(err));
      },
    );
    return () => {
      live = false;
    };
  }, [api, refId]);

  return (
    <Card title={t('ledger.journalsTitle')}>
      <Typography.Paragraph type="secondary">{t('ledger.journalsHint')}</Typography.Paragraph>
      <Input.Search
        aria-label={t('ledger.refId')}
        placeholder={t('ledger.refIdPlaceholder')}
        enterButton={t('common.search')}
        defaultValue={refId}
        style={{ maxWidth: 520 }}
        onSearch={(v) => setParams(v.trim() ? { ref_id: v.trim() } : {})}
        data-testid="journal-search"
      />
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} style={{ marginTop: 16 }} />}
      {refId && entries && entries.length === 0 && <Empty description={t('ledger.noJournals')} />}
      <Space direction="vertical" style={{ width: '100%', marginTop: 16 }} data-testid="journal-entries">
        {entries?.map((j) => (
          <Card
            key={j.id}
            size="small"
            type="inner"
            title={
              <Space wrap>
                <span>{word('journalKind', j.kind)}</span>
                <Typography.Text code>{j.id}</Typography.Text>
              </Space>
            }
            extra={formatTime(j.created_at, lang)}
          >
            <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
              {t('ledger.ref', { type: j.ref_type, id: j.ref_id })}
              {j.memo ? ` · ${j.memo}` : ''}
            </Typography.Paragraph>
            <Table
              size="small"
              pagination={false}
              rowKey={(p) => `${p.account_id}|${p.commission_id ?? ''}|${p.amount_fen}|${p.balance_after ?? ''}`}
              dataSource={j.postings}
              summary={(rows) => (
                <Table.Summary.Row>
                  <Table.Summary.Cell index={0} colSpan={2}>
                    {t('ledger.sum')}
                  </Table.Summary.Cell>
                  <Table.Summary.Cell index={2} align="right">
                    <Money fen={rows.reduce((s, p) => s + p.amount_fen, 0)} />
                  </Table.Summary.Cell>
                  <Table.Summary.Cell index={3} colSpan={2} />
                </Table.Summary.Row>
              )}
              columns={[
                { title: t('ledger.owner'), dataIndex: 'owner_id', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
                { title: t('ledger.account'), dataIndex: 'purpose', render: (v: string) => word('account', v) },
                { title: t('ledger.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
                {
                  title: t('ledger.balanceAfter'),
                  dataIndex: 'balance_after',
                  align: 'right',
                  render: (v: number | null) => (v === null ? '—' : <Money fen={v} />),
                },
                { title: t('ledger.commission'), dataIndex: 'commission_id', render: (v: string | null) => v ?? '—' },
              ]}
            />
          </Card>
        ))}
      </Space>
    </Card>
  );
}

export default function LedgerPage() {
  const { t } = useI18n();
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('ledger.title')}
      </Typography.Title>
      <Verify />
      <Journals />
    </Space>
  );
}
