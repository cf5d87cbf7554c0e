import { useCallback, useEffect, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { Button, Card, ErrorBlock, Grid, InfiniteScroll, List, NoticeBar, Tabs } from 'antd-mobile';
import { formatTime, formatYuan } from '../../../shared/format.ts';
import type { Balance, CommissionLine, PortalOrder, Statement } from '../../../shared/types.ts';
import { LogisticsText, useOrderLogistics } from '../components/logistics.tsx';
import { Money, StatusTag, usePagedList } from '../components/money.tsx';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';

export function useBalance() {
  const { api, session } = useSession();
  const [balance, setBalance] = useState<Balance | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    if (!session) return;
    api.get<Balance>(`/v1/distributors/${encodeURIComponent(session.distributor_id)}/balance`).then(
      (b) => {
        setBalance(b);
        setError(null);
      },
      (err: unknown) => setError(messageOf(err)),
    );
  }, [api, session]);
  useEffect(load, [load]);
  return { balance, error, reload: load };
}

/** The five balances; a negative withdrawable balance (a clawback after settlement) is shown as the debt it is. */
export function BalanceCard({ balance }: { balance: Balance }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const cell = (label: string, fen: number, testId: string) => (
    <Grid.Item>
      <div style={{ color: '#666', fontSize: 13 }}>{label}</div>
      <div style={{ fontSize: 17, marginTop: 2 }}>
        <Money fen={fen} testId={testId} />
      </div>
    </Grid.Item>
  );
  return (
    <Card>
      <div style={{ color: '#666', fontSize: 13 }}>{t('earnings.withdrawable')}</div>
      <div style={{ fontSize: 30, fontWeight: 600, margin: '4px 0 12px' }}>
        <Money fen={balance.withdrawable_fen} testId="balance-withdrawable" />
      </div>
      {balance.withdrawable_fen < 0 && (
        <NoticeBar
          color="error"
          wrap
          data-testid="balance-debt"
          content={t('earnings.debt', { debt: formatYuan(-balance.withdrawable_fen) })}
          style={{ marginBottom: 12 }}
        />
      )}
      <Grid columns={2} gap={12}>
        {cell(t('earnings.pending'), balance.pending_fen, 'balance-pending')}
        {cell(t('earnings.available'), balance.available_fen, 'balance-available')}
        {cell(t('earnings.withdrawing'), balance.withdrawing_fen, 'balance-withdrawing')}
        {cell(t('earnings.withdrawn'), balance.withdrawn_fen, 'balance-withdrawn')}
      </Grid>
      <p style={{ color: '#666', fontSize: 12, margin: '12px 0 8px' }}>{t('earnings.flow')}</p>
      <Button block color="primary" disabled={balance.withdrawable_fen <= 0} onClick={() => navigate('/withdraw')} data-testid="go-withdraw">
        {t('earnings.withdraw')}
      </Button>
    </Card>
  );
}

function LineItem({ c, order, onClick }: { c: CommissionLine; order: PortalOrder | undefined; onClick: () => void }) {
  const { t, lang } = useI18n();
  const level =
    c.kind === 'clawback'
      ? t('earnings.clawback')
      : c.kind === 'adjustment'
        ? t('earnings.adjustment')
        : c.kind === 'territory'
          ? t('agent.territoryEarnings')
          : c.kind === 'price_difference'
            ? t('agent.diffEarnings')
            : c.level === 0
              ? t('earnings.level0')
              : t('earnings.levelK', { level: c.level });
  return (
    <List.Item
      onClick={onClick}
      arrowIcon
      extra={<Money fen={c.amount_fen} strong />}
      data-testid={`line-${c.id}`}
      description={
        <span>
          {formatTime(c.created_at, lang)} · <StatusTag prefix="commissionStatus" value={c.status} />
          {c.held ? ` · ${t('earnings.held')}` : ''}
          {order && (
            <>
              <br />
              <LogisticsText order={order} testId={`line-logistics-${c.id}`} />
            </>
          )}
        </span>
      }
    >
      <span style={{ wordBreak: 'break-all' }}>{t('earnings.lineTitle', { order: c.order_external_id, level })}</span>
    </List.Item>
  );
}

function Lines() {
  const { t } = useI18n();
  const { session } = useSession();
  const navigate = useNavigate();
  const list = usePagedList<CommissionLine>(`/v1/distributors/${encodeURIComponent(session?.distributor_id ?? '')}/commissions`);
  const orders = useOrderLogistics(list.items.map((c) => c.order_external_id));
  if (list.error) return <ErrorBlock status="default" title={t('common.error', { message: list.error })} />;
  return (
    <>
      <List data-testid="commission-lines">
        {list.items.map((c) => (
          <LineItem key={c.id} c={c} order={orders.get(c.order_external_id)} onClick={() => navigate(`/earnings/commissions/${encodeURIComponent(c.id)}`)} />
        ))}
      </List>
      <InfiniteScroll loadMore={list.loadMore} hasMore={list.hasMore}>
        {list.hasMore ? t('common.loading') : list.items.length === 0 ? t('earnings.noLines') : t('team.noMore')}
      </InfiniteScroll>
    </>
  );
}

function Statements() {
  const { t, lang } = useI18n();
  const navigate = useNavigate();
  const list = usePagedList<Statement>('/v1/statements');
  if (list.error) return <ErrorBlock status="default" title={t('common.error', { message: list.error })} />;
  return (
    <>
      <List data-testid="statements">
        {list.items.map((s) => (
          <List.Item
            key={s.id}
            arrowIcon
            onClick={() => navigate(`/earnings/statements/${encodeURIComponent(s.id)}`)}
            extra={<Money fen={s.amount_fen} strong />}
            description={
              <span>
                {t('earnings.statementLines', { n: s.line_count })} · <StatusTag prefix="statementStatus" value={s.status} />
              </span>
            }
          >
            {t('earnings.statementTitle', { date: formatTime(s.period_end, lang) })}
          </List.Item>
        ))}
      </List>
      <InfiniteScroll loadMore={list.loadMore} hasMore={list.hasMore}>
        {list.hasMore ? t('common.loading') : list.items.length === 0 ? t('earnings.noStatements') : t('team.noMore')}
      </InfiniteScroll>
    </>
  );
}

export function EarningsPage() {
  const { t } = useI18n();
  const { balance, error, reload } = useBalance();
  return (
    <div style={{ padding: 12 }}>
      {error && (
        <ErrorBlock
          status="default"
          title={t('common.error', { message: error })}
          description={
            <Button size="small" onClick={reload}>
              {t('common.retry')}
            </Button>
          }
        />
      )}
      {balance && <BalanceCard balance={balance} />}
      <Card style={{ marginTop: 12, padding: 0 }}>
        <Tabs defaultActiveKey="lines">
          <Tabs.Tab title={t('earnings.lines')} key="lines">
            <Lines />
          </Tabs.Tab>
          <Tabs.Tab title={t('earnings.statements')} key="statements">
            <Statements />
          </Tabs.Tab>
        </Tabs>
      </Card>
    </div>
  );
}
