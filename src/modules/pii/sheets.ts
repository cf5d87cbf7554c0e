import { defineExport } from '../../lib/export/spec.ts';
import type { PersonalDataExport, RevealedPayoutAccount } from './types.ts';
import type { AnySheet } from './workbook.ts';

/** The personal-data export as a workbook: one sheet per section of the JSON export. */

interface FieldRow {
  field: string;
  value: string | null;
}

const profileSpec = defineExport<FieldRow>({
  name: 'personal-data',
  title: { zh: '个人资料', en: 'Personal data' },
  columns: [
    { key: 'field', header: { zh: '项目', en: 'Field' }, type: 'text', width: 24 },
    { key: 'value', header: { zh: '内容', en: 'Value' }, type: 'text', width: 48 },
  ],
});

interface AccountRow {
  id: string;
  channel: string;
  account: string | null;
  holder: string | null;
  bank: string | null;
  display: string;
  created_at: string;
  disabled_at: string | null;
}
const accountsSpec = defineExport<AccountRow>({
  name: 'payout-accounts',
  title: { zh: '收款账户', en: 'Payout accounts' },
  columns: [
    { key: 'id', header: { zh: '账户编号', en: 'Account' }, type: 'text' },
    { key: 'channel', header: { zh: '渠道', en: 'Channel' }, type: 'text', width: 10 },
    { key: 'account', header: { zh: '账号', en: 'Account number / id' }, type: 'text', width: 28 },
    { key: 'holder', header: { zh: '户名', en: 'Holder' }, type: 'text' },
    { key: 'bank', header: { zh: '开户行', en: 'Bank' }, type: 'text' },
    { key: 'display', header: { zh: '显示', en: 'Shown as' }, type: 'text', width: 28 },
    { key: 'created_at', header: { zh: '添加时间', en: 'Added at' }, type: 'datetime' },
    { key: 'disabled_at', header: { zh: '停用时间', en: 'Disabled at' }, type: 'datetime' },
  ],
});

const bindingsSpec = defineExport<PersonalDataExport['bindings'][number]>({
  name: 'bindings',
  title: { zh: '绑定记录', en: 'Bindings' },
  columns: [
    { key: 'at', header: { zh: '时间', en: 'At' }, type: 'datetime' },
    { key: 'kind', header: { zh: '类型', en: 'Kind' }, type: 'text', width: 10 },
    { key: 'from_distributor_id', header: { zh: '原分销员', en: 'From' }, type: 'text' },
    { key: 'to_distributor_id', header: { zh: '新分销员', en: 'To' }, type: 'text' },
    { key: 'source', header: { zh: '来源', en: 'Source' }, type: 'text' },
    { key: 'reason', header: { zh: '原因', en: 'Reason' }, type: 'text', width: 32 },
  ],
});

const ordersSpec = defineExport<PersonalDataExport['orders'][number]>({
  name: 'orders',
  title: { zh: '购买订单', en: 'Orders as buyer' },
  columns: [
    { key: 'id', header: { zh: '订单编号', en: 'Order' }, type: 'text' },
    { key: 'external_id', header: { zh: '商户订单号', en: 'Merchant order id' }, type: 'text' },
    { key: 'status', header: { zh: '状态', en: 'Status' }, type: 'text', width: 10 },
    { key: 'paid_fen', header: { zh: '实付（元）', en: 'Paid (CNY)' }, type: 'fen' },
    { key: 'refunded_fen', header: { zh: '已退（元）', en: 'Refunded (CNY)' }, type: 'fen' },
    { key: 'paid_at', header: { zh: '支付时间', en: 'Paid at' }, type: 'datetime' },
  ],
  totals: ['paid_fen', 'refunded_fen'],
});

const commissionsSpec = defineExport<PersonalDataExport['commissions'][number]>({
  name: 'commissions',
  title: { zh: '佣金明细', en: 'Commissions' },
  columns: [
    { key: 'id', header: { zh: '佣金编号', en: 'Line' }, type: 'text' },
    { key: 'order_id', header: { zh: '订单编号', en: 'Order' }, type: 'text' },
    { key: 'level', header: { zh: '层级', en: 'Level' }, type: 'int' },
    { key: 'kind', header: { zh: '类型', en: 'Kind' }, type: 'text', width: 10 },
    { key: 'base_fen', header: { zh: '计佣基数（元）', en: 'Base (CNY)' }, type: 'fen' },
    { key: 'rate_bp', header: { zh: '比例', en: 'Rate' }, type: 'bp' },
    { key: 'amount_fen', header: { zh: '佣金（元）', en: 'Amount (CNY)' }, type: 'fen' },
    { key: 'status', header: { zh: '状态', en: 'Status' }, type: 'text', width: 10 },
    { key: 'created_at', header: { zh: '产生时间', en: 'Created at' }, type: 'datetime' },
    { key: 'settled_at', header: { zh: '结算时间', en: 'Settled at' }, type: 'datetime' },
  ],
  totals: ['amount_fen'],
});

const statementsSpec = defineExport<PersonalDataExport['statements'][number]>({
  name: 'statements',
  title: { zh: '结算单', en: 'Statements' },
  columns: [
    { key: 'id', header: { zh: '结算单号', en: 'Statement' }, type: 'text' },
    { key: 'period_end', header: { zh: '结算截止', en: 'Period end' }, type: 'datetime' },
    { key: 'amount_fen', header: { zh: '金额（元）', en: 'Amount (CNY)' }, type: 'fen' },
    { key: 'status', header: { zh: '状态', en: 'Status' }, type: 'text' },
    { key: 'approved_at', header: { zh: '审核时间', en: 'Approved at' }, type: 'datetime' },
  ],
  totals: ['amount_fen'],
});

const withdrawalsSpec = defineExport<PersonalDataExport['withdrawals'][number]>({
  name: 'withdrawals',
  title: { zh: '提现记录', en: 'Withdrawals' },
  columns: [
    { key: 'id', header: { zh: '提现单号', en: 'Withdrawal' }, type: 'text' },
    { key: 'amount_fen', header: { zh: '金额（元）', en: 'Amount (CNY)' }, type: 'fen' },
    { key: 'fee_fen', header: { zh: '手续费（元）', en: 'Fee (CNY)' }, type: 'fen' },
    { key: 'channel', header: { zh: '渠道', en: 'Channel' }, type: 'text', width: 10 },
    { key: 'status', header: { zh: '状态', en: 'Status' }, type: 'text' },
    { key: 'created_at', header: { zh: '申请时间', en: 'Requested at' }, type: 'datetime' },
    { key: 'paid_at', header: { zh: '到账时间', en: 'Paid at' }, type: 'datetime' },
  ],
  totals: ['amount_fen', 'fee_fen'],
});

const visitsSpec = defineExport<PersonalDataExport['visits'][number]>({
  name: 'visits',
  title: { zh: '推广链接访问', en: 'Invite link visits' },
  columns: [
    { key: 'day', header: { zh: '日期', en: 'Day' }, type: 'date' },
    { key: 'visits', header: { zh: '访问次数', en: 'Visits' }, type: 'int' },
    { key: 'unique_visitors', header: { zh: '访客数', en: 'Visitors' }, type: 'int' },
  ],
  totals: ['visits'],
});

const documentsSpec = defineExport<PersonalDataExport['documents'][number]>({
  name: 'documents',
  title: { zh: '资料文件', en: 'Documents' },
  columns: [
    { key: 'id', header: { zh: '文件编号', en: 'Document' }, type: 'text' },
    { key: 'kind', header: { zh: '类型', en: 'Kind' }, type: 'text' },
    { key: 'filename', header: { zh: '文件名', en: 'File name' }, type: 'text', width: 32 },
    { key: 'content_type', header: { zh: '格式', en: 'Format' }, type: 'text' },
    { key: 'size_bytes', header: { zh: '大小（字节）', en: 'Size (bytes)' }, type: 'int' },
    { key: 'created_at', header: { zh: '上传时间', en: 'Uploaded at' }, type: 'datetime' },
  ],
});

function accountRow(a: RevealedPayoutAccount): AccountRow {
  const d = a.details;
  const base = { id: a.id, channel: a.channel, display: a.display, created_at: a.created_at, disabled_at: a.disabled_at };
  if (!d) return { ...base, account: null, holder: null, bank: null };
  switch (d.channel) {
    case 'alipay':
      return { ...base, account: d.identity, holder: d.name ?? null, bank: null };
    case 'wechat':
      return { ...base, account: d.openid, holder: d.user_name ?? null, bank: null };
    case 'bank':
      return { ...base, account: d.account_no, holder: d.account_name, bank: [d.bank_name, d.branch].filter(Boolean).join(' ') };
    default: {
      const never: never = d;
      return never;
    }
  }
}

export function personalDataSheets(x: PersonalDataExport): AnySheet[] {
  const d = x.distributor;
  const p = x.personal;
  const entries: [string, string | null | undefined][] = [
    ['id', d.id],
    ['external_id', d.external_id],
    ['name', d.name],
    ['status', d.status],
    ['grade', d.grade],
    ['invite_code', d.invite_code],
    ['referrer_id', d.referrer_id],
    ['region_code', d.region_code],
    ['source', d.source],
    ['phone', p.phone],
    ['real_name', p.real_name],
    ['id_number', p.id_number],
    ['wechat', p.wechat],
    ['email', p.email],
    ['address', p.address],
    ['company', d.company],
    ['licence_no', d.licence_no],
    ['note', d.note],
    ['consent_at', d.consent_at],
    ['created_at', d.created_at],
    ['approved_at', d.approved_at],
    ['erased_at', d.erased_at],
    ['pending_fen', String(x.balances.pending_fen)],
    ['available_fen', String(x.balances.available_fen)],
    ['withdrawable_fen', String(x.balances.withdrawable_fen)],
    ['withdrawing_fen', String(x.balances.withdrawing_fen)],
    ['withdrawn_fen', String(x.balances.withdrawn_fen)],
    ['generated_at', x.generated_at],
  ];
  const fields: FieldRow[] = entries.map(([field, value]) => ({ field, value: value ?? null }));
  return [
    { spec: profileSpec, rows: fields },
    { spec: accountsSpec, rows: x.payout_accounts.map(accountRow) },
    { spec: bindingsSpec, rows: x.bindings },
    { spec: ordersSpec, rows: x.orders },
    { spec: commissionsSpec, rows: x.commissions },
    { spec: statementsSpec, rows: x.statements },
    { spec: withdrawalsSpec, rows: x.withdrawals },
    { spec: visitsSpec, rows: x.visits },
    { spec: documentsSpec, rows: x.documents },
  ];
}
