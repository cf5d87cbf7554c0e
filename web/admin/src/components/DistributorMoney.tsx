import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { Alert, Button, Card, Col, Row, Statistic, Table, Tabs, Typography } from 'antd';
import { formatTime, formatYuan } from '../../../shared/format.ts';
import type { Balance, CommissionLine, GradeChange, Page, Statement, Withdrawal } from '../../../shared/types.ts';
import { rateText } from '../pages/OrderDetail.tsx';
import { CommissionDrawer } from './CommissionExplanation.tsx';
import { ExportButton } from './ExportButton.tsx';
import { messageOf } from './errors.ts';
import { ChannelLabel, CommissionStatusTag, Money, StatementStatusTag, WithdrawalStatusTag } from './money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { GradeName, GradeReason } from './GradeName.tsx';

const BALANCES = ['pending_fen', 'available_fen', 'withdrawable_fen', 'withdrawing_fen', 'withdrawn_fen'] as const;

/** A keyset-paged list that grows with "load more". */
function usePaged<T>(path: string, distributorId?: string) {
  const { api } = useAuthed();
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    async (cursor: string | null) => {
      try {
        const page = await api.get<Page<T>>(path, { distributor_id: distributorId, cursor, limit: 20 });
        setItems((prev) => (cursor ? [...(prev ?? []), ...page.items] : page.items));
        setNext(page.next_cursor);
      } catch (err) {
        setError(messageOf(err));
      }
    },
    [api, path, distributorId],
  );
  useEffect(() => {
    setItems(null);
    void load(null);
  }, [load]);
  return { items, error, more: next ? () => void load(next) : null };
}

/** The distributor's money in the console: balances from the ledger, lines, statements, withdrawals, grade changes. */
export function DistributorMoney({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const base = `/v1/distributors/${encodeURIComponent(id)}`;
  const [balance, setBalance] = useState<Balance | null>(null);
  const [history, setHistory] = useState<GradeChange[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [explain, setExplain] = useState<string | null>(null);
  const lines = usePaged<CommissionLine>(`${base}/commissions`);
  const statements = usePaged<Statement>('/v1/statements', id);
  const withdrawals = usePaged<Withdrawal>('/v1/withdrawals', id);

  useEffect(() => {
    Promise.all([api.get<Balance>(`${base}/balance`), api.get<{ items: GradeChange[] }>(`${base}/grade-history`)]).then(
      ([b, h]) => {
        setBalance(b);
        setHistory(h.items);
      },
      (err: unknown) => setError(messageOf(err)),
    );
  }, [api, base]);

  const more = (m: (() => void) | null) =>
    m && (
      <Button onClick={m} style={{ marginTop: 8 }}>
        {t('common.loadMore')}
      </Button>
    );
  return (
    <Card
      title={t('detail.money')}
      extra={
        <span style={{ display: 'inline-flex', gap: 12, alignItems: 'center' }}>
          <Link to={`/orders?seller_id=${encodeURIComponent(id)}`}>{t('detail.ordersSold')}</Link>
          <ExportButton kind="commissions" filters={{ distributor_id: id }} label={t('detail.exportLines')} testId="export-commissions" />
        </span>
      }
    >
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      {balance && (
        <Row gutter={[16, 16]} data-testid="balance">
          {BALANCES.map((k) => (
            <Col key={k} xs={12} md={8} xl={4}>
              <Statistic title={t(`balance.${k}`)} value={formatYuan(balance[k])} valueStyle={balance[k] < 0 ? { color: '#cf1322' } : undefined} />
            </Col>
          ))}
        </Row>
      )}
      {balance && balance.withdrawable_fen < 0 && (
        <Alert type="warning" showIcon title={t('balance.debt', { debt: formatYuan(-balance.withdrawable_fen) })} style={{ marginTop: 12 }} />
      )}
      <Tabs
        style={{ marginTop: 8 }}
        items={[
          {
            key: 'lines',
            label: t('detail.lines'),
            children: (
              <>
                <Table<CommissionLine>
                  rowKey="id"
                  size="small"
                  loading={lines.items === null && !lines.error}
                  dataSource={lines.items ?? []}
                  pagination={false}
                  data-testid="distributor-lines"
                  scroll={{ x: 'max-content' }}
                  locale={{ emptyText: t('order.noCommissions') }}
                  columns={[
                    {
                      title: t('order.externalId'),
                      dataIndex: 'order_external_id',
                      render: (v: string) => <Link to={`/orders/${encodeURIComponent(v)}`}>{v}</Link>,
                    },
                    {
                      title: t('commission.level'),
                      dataIndex: 'level',
                      render: (l: number) => (l === 0 ? t('commission.level0') : t('commission.levelK', { level: l })),
                    },
                    { title: t('commission.base'), dataIndex: 'base_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
                    { title: t('commission.rate'), key: 'rate', render: (_: unknown, c) => rateText(c) },
                    { title: t('commission.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} strong /> },
                    { title: t('commission.status'), dataIndex: 'status', render: (s: string, c) => <CommissionStatusTag status={s} held={c.held} /> },
                    { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
                    {
                      title: '',
                      key: 'explain',
                      render: (_: unknown, c) => (
                        <Button size="small" onClick={() => setExplain(c.id)}>
                          {t('commission.explain')}
                        </Button>
                      ),
                    },
                  ]}
                />
                {more(lines.more)}
              </>
            ),
          },
          {
            key: 'statements',
            label: t('detail.statements'),
            children: (
              <>
                <Table<Statement>
                  rowKey="id"
                  size="small"
                  loading={statements.items === null && !statements.error}
                  dataSource={statements.items ?? []}
                  pagination={false}
                  locale={{ emptyText: t('settlement.noStatements') }}
                  columns={[
                    { title: t('settlement.statement'), dataIndex: 'id', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
                    { title: t('settlement.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
                    { title: t('settlement.status'), dataIndex: 'status', render: (s: string) => <StatementStatusTag status={s} /> },
                    { title: t('settlement.periodEnd'), dataIndex: 'period_end', render: (v: string) => formatTime(v, lang) },
                  ]}
                />
                {more(statements.more)}
              </>
            ),
          },
          {
            key: 'withdrawals',
            label: t('detail.withdrawals'),
            children: (
              <>
                <Table<Withdrawal>
                  rowKey="id"
                  size="small"
                  loading={withdrawals.items === null && !withdrawals.error}
                  dataSource={withdrawals.items ?? []}
                  pagination={false}
                  locale={{ emptyText: t('withdrawals.empty') }}
                  columns={[
                    { title: t('withdrawals.id'), dataIndex: 'id', render: (v: string) => <Link to={`/withdrawals?open=${encodeURIComponent(v)}`}>{v}</Link> },
                    { title: t('withdrawals.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
                    { title: t('withdrawals.channel'), dataIndex: 'channel', render: (c: string) => <ChannelLabel channel={c} /> },
                    { title: t('withdrawals.status'), dataIndex: 'status', render: (s: string) => <WithdrawalStatusTag status={s} /> },
                    { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
                  ]}
                />
                {more(withdrawals.more)}
              </>
            ),
          },
          {
            key: 'grades',
            label: t('detail.gradeHistory'),
            children: (
              <Table<GradeChange>
                rowKey={(g) => `${g.at}|${g.to_grade}`}
                size="small"
                dataSource={history}
                pagination={false}
                locale={{ emptyText: t('common.none') }}
                columns={[
                  { title: t('audit.at'), dataIndex: 'at', render: (v: string) => formatTime(v, lang) },
                  { title: t('audit.before'), dataIndex: 'from_grade', render: (g: string) => <GradeName code={g} /> },
                  { title: t('audit.after'), dataIndex: 'to_grade', render: (g: string) => <GradeName code={g} /> },
                  { title: t('audit.reason'), dataIndex: 'reason', render: (r: string) => <GradeReason reason={r} /> },
                  { title: t('audit.actor'), key: 'actor', render: (_: unknown, g) => `${g.actor_type}${g.actor_id ? `:${g.actor_id}` : ''}` },
                ]}
              />
            ),
          },
        ]}
      />
      <CommissionDrawer id={explain} onClose={() => setExplain(null)} />
    </Card>
  );
}
