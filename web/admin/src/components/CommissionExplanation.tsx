import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { Alert, Descriptions, Divider, Drawer, List, Space, Spin, Steps, Table, Tag, Typography } from 'antd';
import { formatBp, formatTime, formatYuan } from '../../../shared/format.ts';
import type { CommissionExplained } from '../../../shared/types.ts';
import { useI18n } from '../i18n.ts';
import type { MessageKey } from '../messages.ts';
import { useAuthed } from '../session.tsx';
import { messageOf } from './errors.ts';
import { CommissionStatusTag, Money, OrderStatusTag } from './money.tsx';
import { Attribution } from './Attribution.tsx';

/** A server word (rate source, journal kind, account) in the reader's language, or as it came. */
export function useWord() {
  const { t } = useI18n();
  return (prefix: string, value: string) => {
    const key = `${prefix}.${value}` as MessageKey;
    const label = t(key);
    return label === key ? value : label;
  };
}

/**
 * GET /v1/commissions/{id} made readable: what the line pays and why, in the order an auditor
 * asks — whose sale it was and where the beneficiary stands in the frozen chain, the base, the
 * rate and where it came from (rule version), the arithmetic, caps, then every ledger posting
 * and clawback. Names and ids are data, always rendered as text.
 */
export function CommissionExplanation({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const word = useWord();
  const { api } = useAuthed();
  const [line, setLine] = useState<CommissionExplained | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setLine(null);
    setError(null);
    api.get<CommissionExplained>(`/v1/commissions/${encodeURIComponent(id)}`).then(
      (c) => {
        if (live) setLine(c);
      },
      (err: unknown) => {
        if (live) setError(messageOf(err));
      },
    );
    return () => {
      live = false;
    };
  }, [api, id]);

  if (error) return <Alert type="error" showIcon title={t('common.error', { message: error })} />;
  if (!line) return <Spin />;
  const x = line.explanation;
  const levelText = line.level === 0 ? t('explain.level0') : t('explain.levelK', { level: line.level });
  const beneficiaryName = x.chain.find((c) => c.distributor_id === line.beneficiary_id)?.name ?? line.beneficiary_id;
  const percent = x.rate.kind === 'percent';
  const computed = percent ? Number((BigInt(line.base_fen) * BigInt(line.rate_bp)) / 10000n) : line.fixed_fen * line.units;

  const steps = [
    {
      title: t('explain.step.base'),
      content: x.base
        ? t('explain.baseText', { paid: formatYuan(x.base.order_line_paid_fen), refunded: formatYuan(x.base.refunded_fen), base: formatYuan(x.base.base_fen) })
        : t('explain.baseNone', { base: formatYuan(line.base_fen) }),
    },
    {
      title: t('explain.step.rate'),
      content: (
        <span>
          {percent ? t('explain.ratePercent', { rate: formatBp(x.rate.rate_bp) }) : t('explain.rateFixed', { fixed: formatYuan(x.rate.fixed_fen) })}
          {' · '}
          {t('explain.rateSource', { source: word('rateSource', x.rate.source) })}
          {' · '}
          {t('explain.ruleVersion', { version: x.rate.rule_version, at: formatTime(x.rate.rule_effective_from, lang) })}
          {x.rate.rule_reason ? (
            <>
              {' '}
              {t('explain.ruleReason')}
              <Typography.Text code>{x.rate.rule_reason}</Typography.Text>
            </>
          ) : null}
        </span>
      ),
    },
    {
      title: t('explain.step.formula'),
      content: (
        <span data-testid="explain-formula">
          {percent
            ? t('explain.formulaPercent', { base: formatYuan(line.base_fen), rate: formatBp(line.rate_bp), result: formatYuan(computed) })
            : t('explain.formulaFixed', { fixed: formatYuan(line.fixed_fen), units: line.units, result: formatYuan(computed) })}
          <br />
          <Typography.Text type="secondary" code>
            {x.formula}
          </Typography.Text>
        </span>
      ),
    },
    ...(line.capped_fen > 0 ? [{ title: t('explain.step.cap'), content: t('explain.capText', { capped: formatYuan(line.capped_fen) }) }] : []),
    { title: t('explain.step.result'), content: <Money fen={line.amount_fen} strong testId="explain-amount" /> },
  ];

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }} data-testid="commission-explanation">
      <Alert
        type="info"
        showIcon
        title={
          <span data-testid="explain-summary">
            {t('explain.summary', { name: beneficiaryName, amount: formatYuan(line.amount_fen), order: x.order.external_id })}
          </span>
        }
        description={levelText}
      />
      <Descriptions
        size="small"
        column={2}
        items={[
          { key: 'status', label: t('commission.status'), children: <CommissionStatusTag status={line.status} held={line.held} /> },
          { key: 'kind', label: t('commission.kind'), children: word('commissionKind', line.kind) },
          { key: 'level', label: t('commission.level'), children: line.level === 0 ? t('commission.level0') : t('commission.levelK', { level: line.level }) },
          { key: 'grade', label: t('explain.grade'), children: line.beneficiary_grade },
          { key: 'sku', label: t('order.sku'), children: line.sku ?? '—' },
          { key: 'statement', label: t('commission.statement'), children: line.statement_id ?? '—' },
          ...(line.original_amount_fen !== line.amount_fen || line.original_base_fen !== line.base_fen
            ? [
                {
                  key: 'original',
                  label: t('explain.original'),
                  span: 2,
                  children: t('explain.originalText', { base: formatYuan(line.original_base_fen), amount: formatYuan(line.original_amount_fen) }),
                },
              ]
            : []),
        ]}
      />

      <Typography.Title level={3} style={{ fontSize: 16, margin: 0 }}>
        {t('explain.how')}
      </Typography.Title>
      <Steps orientation="vertical" size="small" current={steps.length} items={steps} />

      <Typography.Title level={3} style={{ fontSize: 16, margin: 0 }}>
        {t('explain.chain')}
      </Typography.Title>
      <Typography.Text type="secondary">{t('explain.chainHint')}</Typography.Text>
      <List
        size="small"
        bordered
        dataSource={x.chain}
        data-testid="explain-chain"
        renderItem={(c) => (
          <List.Item style={c.distributor_id === line.beneficiary_id ? { background: '#fff7e6' } : undefined}>
            <Space>
              <Tag>{c.level === 0 ? t('explain.chainSeller') : t('explain.chainUpline', { level: c.level })}</Tag>
              <Link to={`/distributors/${encodeURIComponent(c.distributor_id)}`}>{c.name ?? c.distributor_id}</Link>
              {c.distributor_id === line.beneficiary_id && <Tag color="orange">{t('explain.beneficiary')}</Tag>}
            </Space>
          </List.Item>
        )}
      />

      <Typography.Title level={3} style={{ fontSize: 16, margin: 0 }}>
        {t('explain.order')}
      </Typography.Title>
      <Descriptions
        size="small"
        column={2}
        items={[
          {
            key: 'order',
            label: t('order.externalId'),
            children: <Link to={`/orders/${encodeURIComponent(x.order.external_id)}`}>{x.order.external_id}</Link>,
          },
          { key: 'status', label: t('order.status'), children: <OrderStatusTag status={x.order.status} /> },
          { key: 'paid', label: t('order.paidAt'), children: formatTime(x.order.paid_at, lang) },
          { key: 'buyer', label: t('order.buyer'), children: x.order.buyer_external_id },
          { key: 'attribution', label: t('order.attribution'), span: 2, children: <Attribution value={x.order.attribution} /> },
        ]}
      />

      <Divider style={{ margin: '4px 0' }} />
      <Typography.Title level={3} style={{ fontSize: 16, margin: 0 }}>
        {t('explain.postings')}
      </Typography.Title>
      <Table
        size="small"
        pagination={false}
        rowKey={(p) => `${p.journal_id}:${p.account}:${p.at}:${p.amount_fen}`}
        dataSource={line.postings}
        data-testid="explain-postings"
        locale={{ emptyText: t('common.none') }}
        columns={[
          { title: t('ledger.at'), dataIndex: 'at', render: (v: string) => formatTime(v, lang) },
          { title: t('ledger.kind'), dataIndex: 'kind', render: (v: string) => word('journalKind', v) },
          { title: t('ledger.account'), dataIndex: 'account', render: (v: string) => word('account', v) },
          { title: t('ledger.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
          { title: t('ledger.journal'), dataIndex: 'journal_id', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
        ]}
      />
      {line.kind === 'commission' && (
        <>
          <Typography.Title level={3} style={{ fontSize: 16, margin: 0 }}>
            {t('explain.clawbacks')}
          </Typography.Title>
          {line.clawbacks.length === 0 ? (
            <Typography.Text type="secondary">{t('explain.noClawbacks')}</Typography.Text>
          ) : (
            <List
              size="small"
              dataSource={line.clawbacks}
              renderItem={(k) => (
                <List.Item>
                  <Space>
                    <Money fen={k.amount_fen} />
                    <Typography.Text type="secondary">{formatTime(k.created_at, lang)}</Typography.Text>
                    <Typography.Text code>{k.id}</Typography.Text>
                  </Space>
                </List.Item>
              )}
            />
          )}
        </>
      )}
      {line.clawback_of && <Typography.Text>{t('explain.clawbackOf', { id: line.clawback_of })}</Typography.Text>}
    </Space>
  );
}

export function CommissionDrawer({ id, onClose }: { id: string | null; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Drawer open={id !== null} onClose={onClose} size={720} title={t('explain.title')} destroyOnHidden>
      {id && <CommissionExplanation id={id} />}
    </Drawer>
  );
}
