import { useCallback, useEffect, useRef, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import {
  Button,
  Card,
  Dialog,
  DotLoading,
  ErrorBlock,
  Form,
  InfiniteScroll,
  Input,
  List,
  NoticeBar,
  Popup,
  Radio,
  Selector,
  Space,
  Steps,
  Toast,
} from 'antd-mobile';
import { formatTime, formatYuan, newIdempotencyKey, parseHundredths, withdrawalFee } from '../../../shared/format.ts';
import type { PayoutAccount, PayoutAccountInput, PayoutChannel, Withdrawal, WithdrawalRules } from '../../../shared/types.ts';
import { Money, StatusTag, usePagedList, useWord } from '../components/money.tsx';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';
import { useBalance } from './Earnings.tsx';
import { requestMerchantTransfer } from '../wechat.ts';

const loading = (text: string) => (
  <div style={{ padding: 48, textAlign: 'center' }} role="status">
    {text}
    <DotLoading />
  </div>
);

/** Adds a payout account; the server keeps it encrypted and answers it masked. */
function AddAccount({ channel, onAdded, onClose }: { channel: Exclude<PayoutChannel, 'manual'>; onAdded: (a: PayoutAccount) => void; onClose: () => void }) {
  const { t } = useI18n();
  const { api, session } = useSession();
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm();

  async function submit(v: Record<string, string | string[] | undefined>) {
    const text = (k: string) => {
      const x = v[k];
      return typeof x === 'string' ? x.trim() : '';
    };
    const optional = (k: string) => (text(k) ? text(k) : undefined);
    let body: PayoutAccountInput;
    switch (channel) {
      case 'alipay': {
        const type = (Array.isArray(v.identity_type) ? v.identity_type[0] : v.identity_type) ?? 'ALIPAY_LOGON_ID';
        const name = optional('name');
        body = {
          channel,
          identity: text('identity'),
          identity_type: type as 'ALIPAY_LOGON_ID' | 'ALIPAY_USER_ID',
          ...(name ? { name } : {}),
        };
        break;
      }
      case 'wechat': {
        const userName = optional('user_name');
        body = { channel, openid: text('openid'), ...(userName ? { user_name: userName } : {}) };
        break;
      }
      case 'bank': {
        const branch = optional('branch');
        body = {
          channel,
          account_no: text('account_no').replace(/\s+/g, ''),
          account_name: text('account_name'),
          bank_name: text('bank_name'),
          ...(branch ? { branch } : {}),
        };
        break;
      }
      default: {
        const never: never = channel;
        return never;
      }
    }
    setBusy(true);
    try {
      if (!session) throw new Error(t('login.expired'));
      const added = await api.post<PayoutAccount>(`/v1/distributors/${encodeURIComponent(session.distributor_id)}/payout-accounts`, body);
      Toast.show({ icon: 'success', content: t('withdraw.accountAdded') });
      onAdded(added);
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    } finally {
      setBusy(false);
    }
  }

  const required = (label: string) => [{ required: true, whitespace: true, message: t('form.required', { field: label }) }];
  return (
    <div style={{ maxHeight: '80vh', overflowY: 'auto' }} data-testid="add-account">
      <Form
        form={form}
        layout="vertical"
        onFinish={(v) => void submit(v as Record<string, string>)}
        initialValues={{ identity_type: ['ALIPAY_LOGON_ID'] }}
        footer={
          <Space direction="vertical" block>
            <Button block type="submit" color="primary" loading={busy} data-testid="account-save">
              {t('withdraw.accountSave')}
            </Button>
            <Button block onClick={onClose}>
              {t('common.cancel')}
            </Button>
          </Space>
        }
      >
        <Form.Header>{t('withdraw.addAccountTitle', { channel: t(`channel.${channel}`) })}</Form.Header>
        {channel === 'alipay' && (
          <>
            <Form.Item name="identity_type" label={t('withdraw.alipayType')}>
              <Selector
                columns={2}
                options={[
                  { value: 'ALIPAY_LOGON_ID', label: t('withdraw.alipayLogon') },
                  { value: 'ALIPAY_USER_ID', label: t('withdraw.alipayUserId') },
                ]}
              />
            </Form.Item>
            <Form.Item name="identity" label={t('withdraw.alipayIdentity')} rules={required(t('withdraw.alipayIdentity'))}>
              <Input autoComplete="off" maxLength={100} />
            </Form.Item>
            <Form.Item name="name" label={t('withdraw.realName')} help={t('withdraw.realNameHint')} rules={required(t('withdraw.realName'))}>
              <Input autoComplete="name" maxLength={64} />
            </Form.Item>
          </>
        )}
        {channel === 'wechat' && (
          <>
            <NoticeBar color="info" wrap content={t('withdraw.openidHint')} />
            <Form.Item
              name="openid"
              label="OpenID"
              rules={[...required('OpenID'), { pattern: /^[A-Za-z0-9_-]{1,128}$/, message: t('withdraw.openidInvalid') }]}
            >
              <Input autoComplete="off" maxLength={128} />
            </Form.Item>
            <Form.Item name="user_name" label={t('withdraw.realNameOptional')} help={t('withdraw.wechatNameHint')}>
              <Input autoComplete="name" maxLength={64} />
            </Form.Item>
          </>
        )}
        {channel === 'bank' && (
          <>
            <Form.Item name="account_name" label={t('withdraw.accountName')} rules={required(t('withdraw.accountName'))}>
              <Input autoComplete="name" maxLength={64} />
            </Form.Item>
            <Form.Item
              name="account_no"
              label={t('withdraw.accountNo')}
              rules={[...required(t('withdraw.accountNo')), { pattern: /^[0-9 ]{8,34}$/, message: t('withdraw.accountNoInvalid') }]}
            >
              <Input inputMode="numeric" autoComplete="off" maxLength={34} />
            </Form.Item>
            <Form.Item name="bank_name" label={t('withdraw.bankName')} rules={required(t('withdraw.bankName'))}>
              <Input maxLength={64} />
            </Form.Item>
            <Form.Item name="branch" label={t('withdraw.branch')}>
              <Input maxLength={128} />
            </Form.Item>
          </>
        )}
      </Form>
    </div>
  );
}

/**
 * The withdrawal form. The fee is previewed with the server's formula from
 * GET /v1/me/withdrawal-rules. Each submission carries an Idempotency-Key: the same form sent
 * again (a double tap, a retry after a lost answer) reuses its key, so it makes one withdrawal;
 * a changed form or a new request after success gets a new key.
 */
export function WithdrawPage() {
  const { t } = useI18n();
  const { api, session } = useSession();
  const navigate = useNavigate();
  const { balance, error: balanceError } = useBalance();
  const [rules, setRules] = useState<WithdrawalRules | null>(null);
  const [accounts, setAccounts] = useState<PayoutAccount[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [channel, setChannel] = useState<PayoutChannel | null>(null);
  const [accountId, setAccountId] = useState<string | null>(null);
  const [amountText, setAmountText] = useState('');
  const [adding, setAdding] = useState(false);
  const [busy, setBusy] = useState(false);
  const pendingKey = useRef<{ body: string; key: string } | null>(null);
  const distributorPath = `/v1/distributors/${encodeURIComponent(session?.distributor_id ?? '')}`;

  const loadAccounts = useCallback(async () => {
    const r = await api.get<{ items: PayoutAccount[] }>(`${distributorPath}/payout-accounts`);
    setAccounts(r.items);
    return r.items;
  }, [api, distributorPath]);

  useEffect(() => {
    Promise.all([api.get<WithdrawalRules>('/v1/me/withdrawal-rules'), loadAccounts()]).then(
      ([r]) => {
        setRules(r);
        setChannel((c) => c ?? r.channels[0] ?? null);
      },
      (err: unknown) => setError(messageOf(err)),
    );
  }, [api, loadAccounts]);

  const channelAccounts = accounts.filter((a) => a.channel === channel);
  useEffect(() => {
    if (channel === 'manual' || channel === null) {
      setAccountId(null);
      return;
    }
    // Only a confirmed account can be paid to; one staff added waits for the distributor's confirmation below.
    const payable = channelAccounts.filter((a) => a.confirmed);
    setAccountId((id) => (payable.some((a) => a.id === id) ? id : ((payable.find((a) => a.is_default) ?? payable[0])?.id ?? null)));
  }, [channel, accounts]); // eslint-disable-line react-hooks/exhaustive-deps -- channelAccounts derives from these

  if (error || balanceError) return <ErrorBlock status="default" title={t('common.error', { message: error ?? balanceError ?? '' })} />;
  if (!rules || !balance) return loading(t('common.loading'));

  const amount = parseHundredths(amountText);
  const fee = amount !== null ? withdrawalFee(amount, rules.fee_bp, rules.fixed_fee_fen) : null;
  const problem =
    amountText.trim() === ''
      ? null
      : amount === null || amount <= 0
        ? t('withdraw.amountInvalid')
        : amount < rules.min_fen
          ? t('withdraw.belowMin', { min: formatYuan(rules.min_fen) })
          : amount > balance.withdrawable_fen
            ? t('withdraw.aboveBalance', { max: formatYuan(Math.max(0, balance.withdrawable_fen)) })
            : rules.daily_amount_limit_fen > 0 && amount > rules.daily_amount_limit_fen
              ? t('withdraw.aboveDaily', { max: formatYuan(rules.daily_amount_limit_fen) })
              : null;
  const needsAccount = channel !== null && channel !== 'manual';
  const ready = channel !== null && amount !== null && amount > 0 && problem === null && (!needsAccount || accountId !== null);

  async function submit() {
    if (!ready || channel === null || amount === null || !session) return;
    const confirmed = await Dialog.confirm({
      content: t('withdraw.confirm', { amount: formatYuan(amount), fee: formatYuan(fee ?? 0), net: formatYuan(amount - (fee ?? 0)) }),
      confirmText: t('withdraw.submit'),
      cancelText: t('common.cancel'),
    });
    if (!confirmed) return;
    const body = {
      distributor_id: session.distributor_id,
      amount_fen: amount,
      channel,
      ...(needsAccount && accountId ? { payout_account_id: accountId } : {}),
    };
    const json = JSON.stringify(body);
    if (pendingKey.current?.body !== json) pendingKey.current = { body: json, key: newIdempotencyKey('wd') };
    setBusy(true);
    try {
      const w = await api.post<Withdrawal>('/v1/withdrawals', body, { headers: { 'Idempotency-Key': pendingKey.current.key } });
      pendingKey.current = null;
      Toast.show({ icon: 'success', content: t('withdraw.submitted') });
      void navigate(`/withdraw/${encodeURIComponent(w.id)}`);
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    } finally {
      setBusy(false);
    }
  }

  async function confirmAccount(a: PayoutAccount) {
    if (
      !(await Dialog.confirm({
        content: t('withdraw.confirmAccountAsk', { account: a.display }),
        confirmText: t('withdraw.confirmAccount'),
        cancelText: t('common.cancel'),
      }))
    )
      return;
    try {
      await api.post(`${distributorPath}/payout-accounts/${encodeURIComponent(a.id)}/confirm`, {});
      Toast.show({ icon: 'success', content: t('withdraw.accountConfirmed') });
      await loadAccounts();
      setAccountId(a.id);
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    }
  }

  async function removeAccount(a: PayoutAccount) {
    if (
      !(await Dialog.confirm({
        content: t('withdraw.removeConfirm', { account: a.display }),
        confirmText: t('withdraw.remove'),
        cancelText: t('common.cancel'),
      }))
    )
      return;
    try {
      await api.del(`${distributorPath}/payout-accounts/${encodeURIComponent(a.id)}`);
      await loadAccounts();
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    }
  }

  const feeRule =
    [
      rules.fee_bp > 0 ? t('withdraw.feeBp', { rate: (rules.fee_bp / 100).toFixed(2) }) : null,
      rules.fixed_fee_fen > 0 ? t('withdraw.feeFixed', { fixed: formatYuan(rules.fixed_fee_fen) }) : null,
    ]
      .filter(Boolean)
      .join(' + ') || t('withdraw.noFee');

  return (
    <div style={{ padding: 12, display: 'flex', flexDirection: 'column', gap: 12 }}>
      <Card>
        <div style={{ color: '#666', fontSize: 13 }}>{t('earnings.withdrawable')}</div>
        <div style={{ fontSize: 28, fontWeight: 600 }}>
          <Money fen={balance.withdrawable_fen} testId="withdraw-available" />
        </div>
        {balance.withdrawable_fen < 0 && <NoticeBar color="error" wrap content={t('earnings.debt', { debt: formatYuan(-balance.withdrawable_fen) })} />}
        <p style={{ color: '#666', fontSize: 12, margin: '8px 0 0' }} data-testid="withdraw-rules">
          {t('withdraw.rules', { min: formatYuan(rules.min_fen), fee: feeRule })}
          {rules.daily_count_limit > 0 ? ` ${t('withdraw.dailyCount', { n: rules.daily_count_limit })}` : ''}
          {rules.daily_amount_limit_fen > 0 ? ` ${t('withdraw.dailyAmount', { max: formatYuan(rules.daily_amount_limit_fen) })}` : ''}
        </p>
      </Card>

      <Card title={t('withdraw.channel')}>
        {rules.channels.length === 0 ? (
          <NoticeBar color="alert" wrap content={t('withdraw.noChannels')} />
        ) : (
          <div role="group" aria-label={t('withdraw.channel')} data-testid="channel">
            <Selector
              columns={2}
              value={channel ? [channel] : []}
              onChange={(v) => v[0] && setChannel(v[0])}
              options={rules.channels.map((c) => ({ value: c, label: t(`channel.${c}`), description: t(`channelHint.${c}`) }))}
            />
          </div>
        )}
        {needsAccount && channel && (
          <div style={{ marginTop: 12 }}>
            <div style={{ fontSize: 14, marginBottom: 6 }} id="account-label">
              {t('withdraw.account')}
            </div>
            {channelAccounts.length === 0 ? (
              <p style={{ color: '#666', margin: '4px 0' }}>{t('withdraw.noAccount')}</p>
            ) : (
              <Radio.Group value={accountId} onChange={(v) => setAccountId(String(v))}>
                <List aria-labelledby="account-label" data-testid="accounts">
                  {channelAccounts.map((a) => (
                    <List.Item
                      key={a.id}
                      prefix={<Radio value={a.id} aria-label={a.display} disabled={!a.confirmed} />}
                      description={a.confirmed ? undefined : <span data-testid="account-unconfirmed">{t('withdraw.unconfirmed')}</span>}
                      extra={
                        <Space>
                          {!a.confirmed && (
                            <Button size="mini" color="primary" onClick={() => void confirmAccount(a)} data-testid={`account-confirm-${a.id}`}>
                              {t('withdraw.confirmAccount')}
                            </Button>
                          )}
                          <Button size="mini" fill="none" onClick={() => void removeAccount(a)}>
                            {t('withdraw.remove')}
                          </Button>
                        </Space>
                      }
                    >
                      <span data-testid="account-display">{a.display}</span>
                    </List.Item>
                  ))}
                </List>
              </Radio.Group>
            )}
            <Button size="small" style={{ marginTop: 8 }} onClick={() => setAdding(true)} data-testid="add-account-open">
              {t('withdraw.addAccount')}
            </Button>
          </div>
        )}
      </Card>

      <Card title={t('withdraw.amount')}>
        <label htmlFor="withdraw-amount" style={{ display: 'block', fontSize: 14, marginBottom: 6 }}>
          {t('withdraw.amountLabel')}
        </label>
        <Input
          id="withdraw-amount"
          inputMode="decimal"
          placeholder="0.00"
          value={amountText}
          onChange={setAmountText}
          clearable
          data-testid="amount"
          style={{ '--font-size': '22px', borderBottom: '1px solid #eee', paddingBottom: 4, marginBottom: 8 }}
        />
        {problem && (
          <p role="alert" style={{ color: '#c41d1d', margin: '0 0 8px', fontSize: 13 }} data-testid="amount-problem">
            {problem}
          </p>
        )}
        <List data-testid="fee-preview">
          <List.Item extra={fee !== null ? <Money fen={fee} testId="fee" /> : '—'}>{t('withdraw.fee')}</List.Item>
          <List.Item extra={amount !== null && fee !== null ? <Money fen={amount - fee} strong testId="net" /> : '—'}>{t('withdraw.net')}</List.Item>
        </List>
        <Button block color="primary" style={{ marginTop: 12 }} disabled={!ready} loading={busy} onClick={() => void submit()} data-testid="withdraw-submit">
          {t('withdraw.submit')}
        </Button>
      </Card>

      <Button block onClick={() => navigate('/withdraw/history')} data-testid="withdraw-history-link">
        {t('withdraw.history')}
      </Button>

      <Popup visible={adding} onMaskClick={() => setAdding(false)} bodyStyle={{ borderTopLeftRadius: 8, borderTopRightRadius: 8 }}>
        {adding && channel && channel !== 'manual' && (
          <AddAccount
            channel={channel}
            onClose={() => setAdding(false)}
            onAdded={(a) => {
              setAdding(false);
              void loadAccounts().then(() => setAccountId(a.id));
            }}
          />
        )}
      </Popup>
    </div>
  );
}

export function WithdrawalHistoryPage() {
  const { t, lang } = useI18n();
  const word = useWord();
  const navigate = useNavigate();
  const list = usePagedList<Withdrawal>('/v1/withdrawals');
  if (list.error) return <ErrorBlock status="default" title={t('common.error', { message: list.error })} />;
  return (
    <div style={{ padding: 12 }}>
      <List data-testid="withdrawal-history">
        {list.items.map((w) => (
          <List.Item
            key={w.id}
            arrowIcon
            onClick={() => navigate(`/withdraw/${encodeURIComponent(w.id)}`)}
            extra={<Money fen={w.amount_fen} strong />}
            description={
              <span>
                {formatTime(w.created_at, lang)} · {word('channel', w.channel)} · <StatusTag prefix="withdrawalStatus" value={w.status} />
              </span>
            }
            data-testid={`withdrawal-${w.id}`}
          >
            {t('withdraw.itemTitle', { net: formatYuan(w.net_fen) })}
          </List.Item>
        ))}
      </List>
      <InfiniteScroll loadMore={list.loadMore} hasMore={list.hasMore}>
        {list.hasMore ? t('common.loading') : list.items.length === 0 ? t('withdraw.noHistory') : t('team.noMore')}
      </InfiniteScroll>
    </div>
  );
}

/**
 * A WeChat payout that waits for the payee. WeChat Pay's merchant transfer pays only after the
 * payee confirms inside WeChat: the merchant's own page in WeChat (official account page with
 * JS-SDK, or mini-program) calls wx.requestMerchantTransfer with its mchId, appId and this
 * package. This portal cannot sign that call, so it says what to do and shows the package; it
 * never pretends the confirmation happened — the status changes when WeChat Pay reports it.
 */
function WechatConfirm({ packageInfo, withdrawalId, onDone }: { packageInfo: string; withdrawalId: string; onDone: () => void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const inWechat = /MicroMessenger/i.test(navigator.userAgent);
  const [confirming, setConfirming] = useState(false);
  /** Inside WeChat: WeChat's own confirmation page (requestMerchantTransfer); the status still waits for WeChat Pay. */
  async function confirmInWechat() {
    setConfirming(true);
    try {
      const result = await requestMerchantTransfer(api, withdrawalId);
      if (result === 'requestMerchantTransfer:ok') {
        Toast.show({ icon: 'success', content: t('wx.confirmSent') });
        onDone();
      } else if (/cancel/i.test(result)) {
        Toast.show({ content: t('wx.confirmCancelled') });
      } else {
        Toast.show({ icon: 'fail', content: t('wx.confirmFailed', { message: result }) });
      }
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('wx.confirmFailed', { message: messageOf(err) }) });
    } finally {
      setConfirming(false);
    }
  }
  async function copy() {
    try {
      await navigator.clipboard.writeText(packageInfo);
      Toast.show({ icon: 'success', content: t('withdraw.copied') });
    } catch {
      Toast.show({ content: t('withdraw.copyFailed') });
    }
  }
  return (
    <Card title={t('withdraw.wechatTitle')} data-testid="wechat-confirm">
      <NoticeBar color="alert" wrap content={t('withdraw.wechatWaiting')} />
      {inWechat && (
        <Button
          block
          color="success"
          size="large"
          style={{ marginTop: 12 }}
          loading={confirming}
          onClick={() => void confirmInWechat()}
          data-testid="wx-confirm"
        >
          {t('wx.confirm')}
        </Button>
      )}
      <ol style={{ paddingInlineStart: 20, lineHeight: 1.7, margin: '12px 0' }}>
        <li>{inWechat ? t('withdraw.wechatStep1In') : t('withdraw.wechatStep1Out')}</li>
        <li>{t('withdraw.wechatStep2')}</li>
        <li>{t('withdraw.wechatStep3')}</li>
      </ol>
      <div style={{ fontSize: 13, color: '#666' }}>{t('withdraw.wechatPackage')}</div>
      <pre
        style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', background: '#f5f5f5', padding: 8, borderRadius: 4, fontSize: 12, margin: '4px 0 8px' }}
        data-testid="package-info"
      >
        {packageInfo}
      </pre>
      <Button size="small" onClick={() => void copy()}>
        {t('withdraw.copyPackage')}
      </Button>
      <p style={{ fontSize: 12, color: '#666', marginBottom: 0 }}>{t('withdraw.wechatNote')}</p>
    </Card>
  );
}

export function WithdrawalPage() {
  const { id = '' } = useParams();
  const { t, lang } = useI18n();
  const word = useWord();
  const { api, session } = useSession();
  const [w, setW] = useState<Withdrawal | null>(null);
  const [account, setAccount] = useState<PayoutAccount | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.get<Withdrawal>(`/v1/withdrawals/${encodeURIComponent(id)}`).then(
      async (x) => {
        setW(x);
        if (x.payout_account_id && session) {
          const r = await api
            .get<{ items: PayoutAccount[] }>(`/v1/distributors/${encodeURIComponent(session.distributor_id)}/payout-accounts`)
            .catch(() => ({ items: [] as PayoutAccount[] }));
          setAccount(r.items.find((a) => a.id === x.payout_account_id) ?? null);
        }
      },
      (err: unknown) => setError(messageOf(err)),
    );
  }, [api, id, session]);
  useEffect(load, [load]);

  if (error) return <ErrorBlock status="default" title={t('common.error', { message: error })} />;
  if (!w) return loading(t('common.loading'));
  const failed = w.status === 'failed' || w.status === 'rejected';
  const step = w.status === 'pending_review' ? 1 : w.status === 'approved' ? 2 : 3;
  const p = w.payout;
  return (
    <div style={{ padding: 12, display: 'flex', flexDirection: 'column', gap: 12 }} data-testid="withdrawal-detail">
      <Card>
        <div style={{ textAlign: 'center' }}>
          <div style={{ fontSize: 30, fontWeight: 600 }}>
            <Money fen={w.amount_fen} />
          </div>
          <span data-testid="withdrawal-status">
            <StatusTag prefix="withdrawalStatus" value={w.status} />
          </span>
        </div>
        <Steps current={step} style={{ marginTop: 12 }}>
          <Steps.Step title={t('withdraw.stepAsked')} status="finish" />
          <Steps.Step title={t('withdraw.stepReview')} status={w.status === 'rejected' ? 'error' : step > 1 ? 'finish' : 'process'} />
          <Steps.Step title={t('withdraw.stepPaying')} status={w.status === 'failed' ? 'error' : step > 2 ? 'finish' : step === 2 ? 'process' : 'wait'} />
          <Steps.Step
            title={failed ? t('withdraw.stepReturned') : t('withdraw.stepPaid')}
            status={w.status === 'paid' ? 'finish' : failed ? 'error' : 'wait'}
          />
        </Steps>
        {failed && (
          <NoticeBar
            color="error"
            wrap
            content={t('withdraw.returned', { reason: w.status_reason ?? p?.fail_reason ?? '—' })}
            data-testid="withdrawal-returned"
          />
        )}
      </Card>
      {p?.state === 'wait_user_confirm' && p.package_info && <WechatConfirm packageInfo={p.package_info} withdrawalId={w.id} onDone={load} />}
      <Card>
        <List>
          <List.Item extra={<Money fen={w.fee_fen} />}>{t('withdraw.fee')}</List.Item>
          <List.Item extra={<Money fen={w.net_fen} strong />}>{t('withdraw.net')}</List.Item>
          <List.Item extra={word('channel', w.channel)}>{t('withdraw.channel')}</List.Item>
          {w.payout_account_id && <List.Item extra={account?.display ?? '—'}>{t('withdraw.account')}</List.Item>}
          <List.Item extra={formatTime(w.created_at, lang)}>{t('withdraw.askedAt')}</List.Item>
          {w.paid_at && <List.Item extra={formatTime(w.paid_at, lang)}>{t('withdraw.paidAt')}</List.Item>}
          {w.reference && <List.Item extra={w.reference}>{t('withdraw.reference')}</List.Item>}
          {p && <List.Item extra={word('payoutState', p.state)}>{t('withdraw.payoutState')}</List.Item>}
          <List.Item description={w.id}>{t('withdraw.id')}</List.Item>
        </List>
      </Card>
    </div>
  );
}
