import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Alert, Button, Card, Descriptions, Empty, Input, Result, Space, Table, Typography } from 'antd';
import { SafetyCertificateOutlined } from '@ant-design/icons';
import { formatTime } from '../../../shared/format.ts';
import type { JournalEntry, LedgerReport } from '../../../shared/types.ts';
import { useWord } from '../components/CommissionExplanation.tsx';
import { messageOf } from '../components/errors.ts';
import { Money } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

function Verify() {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const [report, setReport] = useState<LedgerReport | null>(null);
  const [checkedAt, setCheckedAt] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run() {
    setBusy(true);
    setError(null);
    try {
      setReport(await api.get<LedgerReport>('/v1/ledger/verify'));
      setCheckedAt(new Date().toISOString());
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    void run();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps -- once on open

  return (
    <Card
      title={t('ledger.verify')}
      extra={
        <Button icon={<SafetyCertificateOutlined />} loading={busy} onClick={() => void run()} data-testid="ledger-verify">
          {t('ledger.verifyAgain')}
        </Button>
      }
    >
      <Typography.Paragraph type="secondary">{t('ledger.verifyHint')}</Typography.Paragraph>
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      {report && (
        <Space direction="vertical" style={{ width: '100%' }} data-testid="ledger-report">
          {report.ok ? (
            <Result
              status="success"
              title={<span data-testid="ledger-ok">{t('ledger.ok')}</span>}
              subTitle={t('ledger.checkedAt', { at: formatTime(checkedAt, lang) })}
              style={{ padding: 16 }}
            />
          ) : (
            <Alert type="error" showIcon title={<span data-testid="ledger-broken">{t('ledger.broken', { n: report.breaks.length })}</span>} />
          )}
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
