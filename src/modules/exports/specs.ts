import { defineExport } from '../../lib/export/index.ts';
import type { MismatchRow } from '../reconciliation/checks.ts';
import type { WithdrawalLedgerRow } from '../reconciliation/repo.ts';
import type { CommissionExportRow, StatementExportRow } from './repo.ts';

/**
 * The business exports, each a typed spec with zh and en headers. Money columns are fen shown as
 * yuan; payee accounts only ever as their masked display (a bank card's last four digits).
 */

export const statementsExport = defineExport<StatementExportRow>({
  name: 'statements',
  title: { zh: '结算单', en: 'Statements' },
  columns: [
    { key: 'statement_id', header: { zh: '结算单号', en: 'Statement' }, type: 'text', width: 32 },
    { key: 'distributor_id', header: { zh: '分销员ID', en: 'Distributor ID' }, type: 'text', width: 32 },
    { key: 'distributor_external_id', header: { zh: '分销员编号', en: 'Distributor external ID' }, type: 'text' },
    { key: 'distributor_name', header: { zh: '分销员', en: 'Distributor' }, type: 'text' },
    { key: 'status', header: { zh: '状态', en: 'Status' }, type: 'text', width: 16 },
    { key: 'amount_fen', header: { zh: '结算金额（元）', en: 'Amount (CNY)' }, type: 'fen' },
    { key: 'line_count', header: { zh: '佣金笔数', en: 'Lines' }, type: 'int' },
    { key: 'debt_offset_fen', header: { zh: '抵扣欠款（元）', en: 'Debt paid off (CNY)' }, type: 'fen' },
    { key: 'period_end', header: { zh: '结算截止', en: 'Period end' }, type: 'datetime' },
    { key: 'run_id', header: { zh: '结算批次', en: 'Settlement run' }, type: 'text', width: 32 },
    { key: 'created_at', header: { zh: '生成时间', en: 'Created at' }, type: 'datetime' },
    { key: 'approved_at', header: { zh: '审核通过时间', en: 'Approved at' }, type: 'datetime' },
    { key: 'rejected_at', header: { zh: '驳回时间', en: 'Rejected at' }, type: 'datetime' },
    { key: 'review_reason', header: { zh: '审核意见', en: 'Review reason' }, type: 'text' },
    { key: 'settle_journal_id', header: { zh: '结算凭证', en: 'Settle journal' }, type: 'text', width: 32 },
    { key: 'settled_fen', header: { zh: '入可提现（元）', en: 'Credited to withdrawable (CNY)' }, type: 'fen' },
  ],
  totals: ['amount_fen', 'line_count', 'debt_offset_fen', 'settled_fen'],
});

export const withdrawalsExport = defineExport<WithdrawalLedgerRow>({
  name: 'withdrawals',
  title: { zh: '提现台账', en: 'Withdrawal ledger' },
  columns: [
    { key: 'withdrawal_id', header: { zh: '提现单号', en: 'Withdrawal' }, type: 'text', width: 32 },
    { key: 'distributor_id', header: { zh: '分销员ID', en: 'Distributor ID' }, type: 'text', width: 32 },
    { key: 'distributor_external_id', header: { zh: '分销员编号', en: 'Distributor external ID' }, type: 'text' },
    { key: 'distributor_name', header: { zh: '分销员', en: 'Distributor' }, type: 'text' },
    { key: 'channel', header: { zh: '渠道', en: 'Channel' }, type: 'text', width: 10 },
    { key: 'account_display', header: { zh: '收款账户（脱敏）', en: 'Payee account (masked)' }, type: 'text', width: 32 },
    { key: 'amount_fen', header: { zh: '提现金额（元）', en: 'Amount (CNY)' }, type: 'fen' },
    { key: 'fee_fen', header: { zh: '手续费（元）', en: 'Fee (CNY)' }, type: 'fen' },
    { key: 'net_fen', header: { zh: '实付金额（元）', en: 'Net paid out (CNY)' }, type: 'fen' },
    { key: 'status', header: { zh: '状态', en: 'Status' }, type: 'text', width: 16 },
    { key: 'status_reason', header: { zh: '原因', en: 'Reason' }, type: 'text' },
    { key: 'payout_id', header: { zh: '打款单号', en: 'Payout' }, type: 'text', width: 32 },
    { key: 'out_no', header: { zh: '商户单号', en: 'Out no.' }, type: 'text', width: 30 },
    { key: 'provider_ref', header: { zh: '渠道流水号', en: 'Provider reference' }, type: 'text', width: 30 },
    { key: 'payout_state', header: { zh: '打款状态', en: 'Payout state' }, type: 'text', width: 16 },
    { key: 'requested_at', header: { zh: '申请时间', en: 'Requested at' }, type: 'datetime' },
    { key: 'approved_at', header: { zh: '审核通过时间', en: 'Approved at' }, type: 'datetime' },
    { key: 'paid_at', header: { zh: '打款成功时间', en: 'Paid at' }, type: 'datetime' },
    { key: 'failed_at', header: { zh: '打款失败时间', en: 'Failed at' }, type: 'datetime' },
    { key: 'rejected_at', header: { zh: '驳回时间', en: 'Rejected at' }, type: 'datetime' },
    { key: 'request_journal_id', header: { zh: '申请凭证', en: 'Request journal' }, type: 'text', width: 32 },
    { key: 'submit_journal_id', header: { zh: '出款凭证', en: 'Payout journal' }, type: 'text', width: 32 },
    { key: 'final_journal_id', header: { zh: '结果凭证', en: 'Outcome journal' }, type: 'text', width: 32 },
  ],
  totals: ['amount_fen', 'fee_fen', 'net_fen'],
});

export const commissionsExport = defineExport<CommissionExportRow>({
  name: 'commission-lines',
  title: { zh: '佣金明细', en: 'Commission lines' },
  columns: [
    { key: 'commission_id', header: { zh: '佣金单号', en: 'Commission line' }, type: 'text', width: 32 },
    { key: 'order_external_id', header: { zh: '订单号', en: 'Order' }, type: 'text' },
    { key: 'sku', header: { zh: 'SKU', en: 'SKU' }, type: 'text' },
    { key: 'beneficiary_id', header: { zh: '受益人ID', en: 'Beneficiary ID' }, type: 'text', width: 32 },
    { key: 'beneficiary_external_id', header: { zh: '受益人编号', en: 'Beneficiary external ID' }, type: 'text' },
    { key: 'beneficiary_name', header: { zh: '受益人', en: 'Beneficiary' }, type: 'text' },
    { key: 'level', header: { zh: '层级', en: 'Level' }, type: 'int' },
    { key: 'kind', header: { zh: '类型', en: 'Kind' }, type: 'text', width: 12 },
    { key: 'territory_rank', header: { zh: '代理级别', en: 'Territory rank' }, type: 'text', width: 10 },
    { key: 'region_name', header: { zh: '收货地区', en: 'Shipping region' }, type: 'text', width: 20 },
    { key: 'base_fen', header: { zh: '计佣基数（元）', en: 'Base (CNY)' }, type: 'fen' },
    { key: 'rate_bp', header: { zh: '比例', en: 'Rate' }, type: 'bp' },
    { key: 'fixed_fen', header: { zh: '每件固定（元）', en: 'Fixed per unit (CNY)' }, type: 'fen' },
    { key: 'units', header: { zh: '件数', en: 'Units' }, type: 'int' },
    { key: 'amount_fen', header: { zh: '佣金（元）', en: 'Commission (CNY)' }, type: 'fen' },
    { key: 'status', header: { zh: '状态', en: 'Status' }, type: 'text', width: 12 },
    { key: 'held', header: { zh: '冻结', en: 'Held' }, type: 'text', width: 8 },
    { key: 'rule_version', header: { zh: '规则版本', en: 'Rule version' }, type: 'int' },
    { key: 'rate_source', header: { zh: '比例来源', en: 'Rate source' }, type: 'text', width: 12 },
    { key: 'beneficiary_grade', header: { zh: '受益人等级', en: 'Beneficiary grade' }, type: 'text' },
    { key: 'created_at', header: { zh: '产生时间', en: 'Created at' }, type: 'datetime' },
    { key: 'available_at', header: { zh: '可结算时间', en: 'Available at' }, type: 'datetime' },
    { key: 'settled_at', header: { zh: '结算时间', en: 'Settled at' }, type: 'datetime' },
    { key: 'reversed_at', header: { zh: '冲销时间', en: 'Reversed at' }, type: 'datetime' },
    { key: 'statement_id', header: { zh: '结算单号', en: 'Statement' }, type: 'text', width: 32 },
    { key: 'clawback_of', header: { zh: '追回原佣金', en: 'Clawback of' }, type: 'text', width: 32 },
  ],
  totals: ['amount_fen'],
});

export interface ReconciliationExportRow extends WithdrawalLedgerRow {
  /** Codes of the mismatches naming this withdrawal or its payout, comma-separated. */
  mismatches: string;
}

export const reconciliationExport = defineExport<ReconciliationExportRow>({
  name: 'reconciliation',
  title: { zh: '提现对账', en: 'Reconciliation' },
  columns: [
    { key: 'withdrawal_id', header: { zh: '提现单号', en: 'Withdrawal' }, type: 'text', width: 32 },
    { key: 'distributor_external_id', header: { zh: '分销员编号', en: 'Distributor external ID' }, type: 'text' },
    { key: 'distributor_name', header: { zh: '分销员', en: 'Distributor' }, type: 'text' },
    { key: 'channel', header: { zh: '渠道', en: 'Channel' }, type: 'text', width: 10 },
    { key: 'status', header: { zh: '提现状态', en: 'Status' }, type: 'text', width: 16 },
    { key: 'payout_state', header: { zh: '打款状态', en: 'Payout state' }, type: 'text', width: 16 },
    { key: 'provider_state', header: { zh: '渠道最新结果', en: 'Provider says' }, type: 'text', width: 16 },
    { key: 'amount_fen', header: { zh: '提现金额（元）', en: 'Amount (CNY)' }, type: 'fen' },
    { key: 'fee_fen', header: { zh: '手续费（元）', en: 'Fee (CNY)' }, type: 'fen' },
    { key: 'net_fen', header: { zh: '实付金额（元）', en: 'Net (CNY)' }, type: 'fen' },
    { key: 'out_no', header: { zh: '商户单号', en: 'Out no.' }, type: 'text', width: 30 },
    { key: 'provider_ref', header: { zh: '渠道流水号', en: 'Provider reference' }, type: 'text', width: 30 },
    { key: 'requested_at', header: { zh: '申请时间', en: 'Requested at' }, type: 'datetime' },
    { key: 'finished_at', header: { zh: '打款完成时间', en: 'Payout finished at' }, type: 'datetime' },
    { key: 'requested_fen', header: { zh: '凭证：申请冻结（元）', en: 'Journal: set aside (CNY)' }, type: 'fen' },
    { key: 'submitted_fen', header: { zh: '凭证：出款（元）', en: 'Journal: handed to channel (CNY)' }, type: 'fen' },
    { key: 'paid_fen', header: { zh: '凭证：已提现（元）', en: 'Journal: paid out (CNY)' }, type: 'fen' },
    { key: 'fee_income_fen', header: { zh: '凭证：手续费收入（元）', en: 'Journal: fee income (CNY)' }, type: 'fen' },
    { key: 'returned_fen', header: { zh: '凭证：退回可提现（元）', en: 'Journal: returned (CNY)' }, type: 'fen' },
    { key: 'clearing_fen', header: { zh: '清算户余额（元）', en: 'Payout clearing (CNY)' }, type: 'fen' },
    { key: 'request_journal_id', header: { zh: '申请凭证', en: 'Request journal' }, type: 'text', width: 32 },
    { key: 'submit_journal_id', header: { zh: '出款凭证', en: 'Payout journal' }, type: 'text', width: 32 },
    { key: 'final_journal_id', header: { zh: '结果凭证', en: 'Outcome journal' }, type: 'text', width: 32 },
    { key: 'mismatches', header: { zh: '差异', en: 'Mismatches' }, type: 'text', width: 40 },
  ],
  totals: ['amount_fen', 'fee_fen', 'net_fen', 'requested_fen', 'submitted_fen', 'paid_fen', 'fee_income_fen', 'returned_fen', 'clearing_fen'],
});

export const mismatchesExport = defineExport<MismatchRow>({
  name: 'reconciliation-mismatches',
  title: { zh: '对账差异', en: 'Reconciliation mismatches' },
  columns: [
    { key: 'code', header: { zh: '差异类型', en: 'Mismatch' }, type: 'text', width: 34 },
    { key: 'subject', header: { zh: '对象', en: 'Subject' }, type: 'text', width: 32 },
    { key: 'withdrawal_id', header: { zh: '提现单号', en: 'Withdrawal' }, type: 'text', width: 32 },
    { key: 'payout_id', header: { zh: '打款单号', en: 'Payout' }, type: 'text', width: 32 },
    { key: 'journal_id', header: { zh: '凭证', en: 'Journal' }, type: 'text', width: 32 },
    { key: 'expected_fen', header: { zh: '应为（元）', en: 'Expected (CNY)' }, type: 'fen' },
    { key: 'actual_fen', header: { zh: '实际（元）', en: 'Actual (CNY)' }, type: 'fen' },
    { key: 'detail', header: { zh: '说明', en: 'Detail' }, type: 'text', width: 80 },
  ],
});
