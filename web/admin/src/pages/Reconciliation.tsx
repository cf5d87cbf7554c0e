import { useState } from 'react';
import { Link } from 'react-router-dom';
import { Alert, Button, Card, Descriptions, Form, Input, Space, Table, Tag, Typography } from 'antd';
import { formatTime } from '../../../shared/format.ts';
import type { Mismatch, ReconciliationItem, ReconciliationReport, ReconciliationTotals } from '../../../shared/types.ts';
import { useWord } from '../components/CommissionExplanation.tsx';
import { ExportButton } from '../components/ExportButton.tsx';
import { messageOf } from '../components/errors.ts';
import { ChannelLabel, Money, PayoutStateTag, WithdrawalStatusTag } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

const BUCKETS = ['requested', 'pending_review', 'in_flight', 'paid', 'failed', 'rejected', 'returned'] as const;

/** The day after a YYYY-MM-DD date: the page's "to" is inclusive, the API's is exclusive. */
export function dayAfter(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function Sum({ s }: { s: { count: number; amount_fen: number } }) {
  const { t } = useI18n();
  return (
    <span style={{ whiteSpace: 'nowrap' }}>
      {t('recon.count', { n: s.count })} · <Money fen={s.amount_fen} />
    </span>
  );
}

function TotalsTable({ report }: { report: ReconciliationReport }) {
  const { t } = useI18n();
  const rows: ({ key: string; channel: string | null } & ReconciliationTotals)[] = [
    ...report.totals.by_channel.map((c) => ({ key: c.channel, ...c })),
    { key: '__all', ...report.totals.overall, channel: null },
  ];
  return (
    <Table
      size="small"
      pagination={false}
      dataSource={rows}
      data-testid="recon-totals"
      scroll={{ x: 'max-content' }}
      columns={[
        {
          title: t('withdrawals.channel'),
          dataIndex: 'channel',
          render: (c: string | null) => (c ? <ChannelLabel channel={c} /> : <Typography.Text strong>{t('recon.all')}</Typography.Text>),
        },
        ...BUCKETS.map((b) => ({ title: t(`recon.bucket.${b}`), key: b, render: (_: unknown, r: ReconciliationTotals) => <Sum s={r[b]} /> })),
        { title: t('recon.fees'), dataIndex: 'fees_fen', align: 'right' as const, render: (v: number) => <Money fen={v} /> },
      ]}
    />
  );
}

export default function ReconciliationPage() {
  const { t, lang } = useI18n();
  const word = useWord();
  const { api } = useAuthed();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [report, setReport] = useState<ReconciliationReport | null>(null);
  const [items, setItems] = useState<ReconciliationItem[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const period = { from: from || undefined, to: to ? dayAfter(to) : undefined };

  async function run(cursor: string | null) {
    setBusy(true);
    setError(null);
    try {
      const r = await api.get<ReconciliationReport>('/v1/reconciliation', { ...period, cursor, limit: 100 });
      setReport(r);
      setItems((prev) => (cursor ? [...prev, ...r.items] : r.items));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  const exportFilters = { ...(period.from ? { from: period.from } : {}), ...(period.to ? { to: period.to } : {}) };
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('recon.title')}
      </Typography.Title>
      <Alert type="info" showIcon title={t('recon.hint')} />
      <Form layout="inline" onFinish={() => void run(null)} style={{ rowGap: 12 }}>
        <Form.Item label={t('recon.from')} htmlFor="recon-from">
          <Input id="recon-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} style={{ width: 170 }} />
        </Form.Item>
        <Form.Item label={t('recon.to')} htmlFor="recon-to">
          <Input id="recon-to" type="date" value={to} onChange={(e) => setTo(e.target.value)} style={{ width: 170 }} />
        </Form.Item>
        <Form.Item>
          <Button type="primary" htmlType="submit" loading={busy} data-testid="recon-run">
            {t('recon.run')}
          </Button>
        </Form.Item>
        <Form.Item>
          <Space>
            <ExportButton kind="reconciliation" filters={exportFilters} label={t('recon.exportReport')} testId="export-recon" />
            <ExportButton kind="reconciliation-mismatches" filters={exportFilters} label={t('recon.exportMismatches')} testId="export-mismatches" />
          </Space>
        </Form.Item>
      </Form>
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      {report && (
        <>
          {report.ok ? (
            <Alert
              type="success"
              showIcon
              title={<span data-testid="recon-ok">{t('recon.ok')}</span>}
              description={t('recon.asOf', { at: formatTime(report.as_of, lang) })}
            />
          ) : (
            <Alert
              type="error"
              showIcon
              title={<span data-testid="recon-broken">{t('recon.broken', { n: report.mismatches.length })}</span>}
              description={t('recon.asOf', { at: formatTime(report.as_of, lang) })}
            />
          )}
          <Card title={t('recon.totals')}>
            <TotalsTable report={report} />
            <Descriptions
              size="small"
              column={{ xs: 1, md: 4 }}
              style={{ marginTop: 16 }}
              items={[
                { key: 'clearing', label: t('recon.clearing'), children: <Money fen={report.ledger.payout_clearing_fen} testId="recon-clearing" /> },
                { key: 'flight', label: t('recon.inFlight'), children: <Money fen={report.ledger.in_flight_fen} /> },
                { key: 'fee', label: t('recon.feeIncome'), children: <Money fen={report.ledger.fee_income_fen} /> },
                { key: 'paidFees', label: t('recon.paidFees'), children: <Money fen={report.ledger.paid_fees_fen} /> },
                { key: 'depositCash', label: t('recon.depositCash'), children: <Money fen={report.ledger.deposit_cash_fen} /> },
                { key: 'depositsHeld', label: t('recon.depositsHeld'), children: <Money fen={report.ledger.deposits_held_fen} /> },
                { key: 'depositsRefunding', label: t('recon.depositsRefunding'), children: <Money fen={report.ledger.deposits_refunding_fen} /> },
              ]}
            />
          </Card>
          <Card title={t('recon.mismatches')}>
            <Table<Mismatch>
              size="small"
              rowKey={(m) => `${m.code}|${m.subject}|${m.journal_id ?? ''}`}
              dataSource={report.mismatches}
              pagination={{ pageSize: 50, hideOnSinglePage: true }}
              data-testid="recon-mismatches"
              locale={{ emptyText: t('recon.noMismatches') }}
              scroll={{ x: 'max-content' }}
              columns={[
                {
                  title: t('recon.code'),
                  dataIndex: 'code',
                  render: (c: string) => (
                    <span>
                      <Typography.Text code>{c}</Typography.Text>
                      <br />
                      {word('mismatch', c)}
                    </span>
                  ),
                },
                {
                  title: t('ledger.subject'),
                  dataIndex: 'subject',
                  render: (v: string, m) =>
                    m.withdrawal_id ? (
                      <Link to={`/withdrawals?open=${encodeURIComponent(m.withdrawal_id)}`}>{v}</Link>
                    ) : (
                      <Typography.Text code>{v}</Typography.Text>
                    ),
                },
                { title: t('recon.expected'), dataIndex: 'expected_fen', align: 'right', render: (v: number | null) => (v === null ? '—' : <Money fen={v} />) },
                { title: t('recon.actual'), dataIndex: 'actual_fen', align: 'right', render: (v: number | null) => (v === null ? '—' : <Money fen={v} />) },
                { title: t('ledger.detail'), dataIndex: 'detail' },
              ]}
            />
          </Card>
          <Card title={t('recon.items')}>
            <Table<ReconciliationItem>
              size="small"
              rowKey="withdrawal_id"
              dataSource={items}
              pagination={false}
              data-testid="recon-items"
              scroll={{ x: 'max-content' }}
              locale={{ emptyText: t('withdrawals.empty') }}
              columns={[
                {
                  title: t('withdrawals.id'),
                  dataIndex: 'withdrawal_id',
                  render: (v: string) => <Link to={`/withdrawals?open=${encodeURIComponent(v)}`}>{v}</Link>,
                },
                {
                  title: t('settlement.distributor'),
                  dataIndex: 'distributor_name',
                  render: (v: string, i) => <Link to={`/distributors/${encodeURIComponent(i.distributor_id)}`}>{v}</Link>,
                },
                { title: t('withdrawals.channel'), dataIndex: 'channel', render: (c: string) => <ChannelLabel channel={c} /> },
                { title: t('withdrawals.account'), dataIndex: 'account_display', render: (v: string | null) => v ?? '—' },
                { title: t('withdrawals.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
                { title: t('withdrawals.fee'), dataIndex: 'fee_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
                { title: t('withdrawals.status'), dataIndex: 'status', render: (s: string) => <WithdrawalStatusTag status={s} /> },
                { title: t('withdrawals.payoutState'), dataIndex: 'payout_state', render: (s: string | null) => (s ? <PayoutStateTag state={s} /> : '—') },
                { title: t('recon.providerState'), dataIndex: 'provider_state', render: (s: string | null) => s ?? '—' },
                { title: t('recon.paid'), dataIndex: 'paid_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
                { title: t('recon.returned'), dataIndex: 'returned_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
                { title: t('recon.clearingItem'), dataIndex: 'clearing_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
                {
                  title: t('recon.itemMismatches'),
                  dataIndex: 'mismatches',
                  render: (m: string[]) =>
                    m.length ? (
                      m.map((c) => (
                        <Tag key={c} color="red">
                          {c}
                        </Tag>
                      ))
                    ) : (
                      <Tag color="green">{t('recon.itemOk')}</Tag>
                    ),
                },
                { title: t('withdrawals.reference'), dataIndex: 'provider_ref', render: (v: string | null) => v ?? '—' },
                { title: t('common.createdAt'), dataIndex: 'requested_at', render: (v: string) => formatTime(v, lang) },
              ]}
            />
            {report.next_cursor && (
              <Button style={{ marginTop: 8 }} loading={busy} onClick={() => void run(report.next_cursor)}>
                {t('common.loadMore')}
              </Button>
            )}
          </Card>
        </>
      )}
    </Space>
  );
}
