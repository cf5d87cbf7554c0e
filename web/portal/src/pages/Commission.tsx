import { useEffect, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { Card, DotLoading, ErrorBlock, List, Steps, Tag } from 'antd-mobile';
import { formatBp, formatTime, formatYuan } from '../../../shared/format.ts';
import type { CommissionExplained, StatementDetail } from '../../../shared/types.ts';
import { Money, StatusTag, useWord } from '../components/money.tsx';
import { LogisticsText, useOrderLogistics } from '../components/logistics.tsx';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';

const loading = (text: string) => (
  <div style={{ padding: 48, textAlign: 'center' }} role="status">
    {text}
    <DotLoading />
  </div>
);

/**
 * One of my commission lines, explained in plain words: whose sale, the base, the rate and where
 * it came from, the arithmetic, and what happened to it since (postings, clawbacks).
 */
export function CommissionPage() {
  const { id = '' } = useParams();
  const { t, lang } = useI18n();
  const word = useWord();
  const { api, session } = useSession();
  const [line, setLine] = useState<CommissionExplained | null>(null);
  const [error, setError] = useState<string | null>(null);
  const orders = useOrderLogistics(line ? [line.order_external_id] : []);

  useEffect(() => {
    api.get<CommissionExplained>(`/v1/commissions/${encodeURIComponent(id)}`).then(setLine, (err: unknown) => setError(messageOf(err)));
  }, [api, id]);

  if (error) return <ErrorBlock status="default" title={t('common.error', { message: error })} />;
  if (!line) return loading(t('common.loading'));
  const x = line.explanation;
  const percent = x.rate.kind === 'percent';
  const computed = percent ? Number((BigInt(line.base_fen) * BigInt(line.rate_bp)) / 10000n) : line.fixed_fen * line.units;
  const seller = x.chain[0];
  const mine = session?.distributor_id === line.beneficiary_id;
  const order = orders.get(line.order_external_id);

  return (
    <div style={{ padding: 12, display: 'flex', flexDirection: 'column', gap: 12 }} data-testid="commission-explanation">
      <Card>
        <div style={{ textAlign: 'center' }}>
          <div style={{ color: '#666', fontSize: 13 }}>{t('explain.amount')}</div>
          <div style={{ fontSize: 32, fontWeight: 600, margin: '4px 0' }}>
            <Money fen={line.amount_fen} testId="explain-amount" />
          </div>
          <StatusTag prefix="commissionStatus" value={line.status} />
          {line.held && (
            <Tag color="danger" fill="outline" style={{ marginLeft: 6 }}>
              {t('earnings.held')}
            </Tag>
          )}
        </div>
        <p style={{ margin: '12px 0 0', lineHeight: 1.6 }} data-testid="explain-why">
          {line.kind === 'clawback'
            ? t('explain.whyClawback', { order: x.order.external_id })
            : line.level === 0
              ? t('explain.why0', { order: x.order.external_id })
              : t('explain.whyK', { order: x.order.external_id, seller: seller?.name ?? '—', level: line.level })}
        </p>
      </Card>

      <Card title={t('explain.how')}>
        <Steps direction="vertical" current={4} data-testid="explain-steps">
          <Steps.Step
            title={t('explain.base')}
            description={
              x.base
                ? t('explain.baseText', {
                    paid: formatYuan(x.base.order_line_paid_fen),
                    refunded: formatYuan(x.base.refunded_fen),
                    base: formatYuan(x.base.base_fen),
                  })
                : formatYuan(line.base_fen)
            }
          />
          <Steps.Step
            title={t('explain.rate')}
            description={`${percent ? formatBp(x.rate.rate_bp) : t('explain.fixed', { fixed: formatYuan(x.rate.fixed_fen) })} · ${word('rateSource', x.rate.source)} · ${t('explain.version', { version: x.rate.rule_version, at: formatTime(x.rate.rule_effective_from, lang) })}`}
          />
          <Steps.Step
            title={t('explain.formula')}
            description={
              <span data-testid="explain-formula">
                {percent
                  ? t('explain.formulaPercent', { base: formatYuan(line.base_fen), rate: formatBp(line.rate_bp), result: formatYuan(computed) })
                  : t('explain.formulaFixed', { fixed: formatYuan(line.fixed_fen), units: line.units, result: formatYuan(computed) })}
              </span>
            }
          />
          {line.capped_fen > 0 && <Steps.Step title={t('explain.cap')} description={t('explain.capText', { capped: formatYuan(line.capped_fen) })} />}
          <Steps.Step title={t('explain.result')} description={formatYuan(line.amount_fen)} />
        </Steps>
      </Card>

      <Card title={t('explain.chain')}>
        <List>
          {x.chain.map((c) => (
            <List.Item
              key={c.distributor_id}
              extra={c.distributor_id === line.beneficiary_id ? <Tag color="warning">{mine ? t('explain.me') : t('explain.beneficiary')}</Tag> : null}
              description={c.level === 0 ? t('explain.seller') : t('explain.upline', { level: c.level })}
            >
              <span style={{ wordBreak: 'break-all' }}>{c.name ?? '—'}</span>
            </List.Item>
          ))}
        </List>
      </Card>

      <Card title={t('explain.order')}>
        <List>
          <List.Item extra={x.order.external_id}>{t('explain.orderNo')}</List.Item>
          <List.Item extra={formatTime(x.order.paid_at, lang)}>{t('explain.paidAt')}</List.Item>
          {order && <List.Item extra={<LogisticsText order={order} testId="explain-logistics" />}>{t('logistics.state')}</List.Item>}
          {line.sku && <List.Item extra={line.sku}>SKU</List.Item>}
        </List>
      </Card>

      <Card title={t('explain.history')}>
        <List data-testid="explain-postings">
          {line.postings.map((p) => (
            <List.Item key={`${p.journal_id}:${p.account}:${p.amount_fen}`} extra={<Money fen={p.amount_fen} />} description={formatTime(p.at, lang)}>
              {word('journalKind', p.kind)} · {word('account', p.account)}
            </List.Item>
          ))}
          {line.clawbacks.map((k) => (
            <List.Item key={k.id} extra={<Money fen={k.amount_fen} />} description={formatTime(k.created_at, lang)}>
              {t('explain.clawback')}
            </List.Item>
          ))}
        </List>
      </Card>
    </div>
  );
}

export function StatementPage() {
  const { id = '' } = useParams();
  const { t, lang } = useI18n();
  const { api } = useSession();
  const navigate = useNavigate();
  const [s, setS] = useState<StatementDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.get<StatementDetail>(`/v1/statements/${encodeURIComponent(id)}`).then(setS, (err: unknown) => setError(messageOf(err)));
  }, [api, id]);
  if (error) return <ErrorBlock status="default" title={t('common.error', { message: error })} />;
  if (!s) return loading(t('common.loading'));
  return (
    <div style={{ padding: 12, display: 'flex', flexDirection: 'column', gap: 12 }}>
      <Card>
        <div style={{ textAlign: 'center' }}>
          <div style={{ fontSize: 30, fontWeight: 600 }}>
            <Money fen={s.amount_fen} />
          </div>
          <StatusTag prefix="statementStatus" value={s.status} />
        </div>
        <List style={{ marginTop: 8 }}>
          <List.Item extra={formatTime(s.period_end, lang)}>{t('statement.periodEnd')}</List.Item>
          {s.debt_offset_fen > 0 && <List.Item extra={<Money fen={s.debt_offset_fen} />}>{t('statement.debtOffset')}</List.Item>}
          {s.review_reason && <List.Item description={s.review_reason}>{t('statement.reason')}</List.Item>}
        </List>
      </Card>
      <Card title={t('statement.lines', { n: s.lines.length })}>
        <List>
          {s.lines.map((l) => (
            <List.Item
              key={l.id}
              arrowIcon
              onClick={() => navigate(`/earnings/commissions/${encodeURIComponent(l.id)}`)}
              extra={<Money fen={l.amount_fen} />}
              description={l.level === 0 ? t('earnings.level0') : t('earnings.levelK', { level: l.level })}
            >
              <span style={{ wordBreak: 'break-all' }}>
                {t('explain.orderNo')} {l.order_external_id}
              </span>
            </List.Item>
          ))}
        </List>
      </Card>
    </div>
  );
}
