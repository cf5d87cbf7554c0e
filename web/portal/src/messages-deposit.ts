/**
 * The admission deposit on the portal's home (GET /v1/me/deposit): what the program asks, what
 * was paid, what the merchant holds, what is being refunded and what was refunded, and the newest
 * refund's status. Chinese first; English has every key.
 * None of these holds a word of WECHAT_FORBIDDEN_WORDS (the card shows under the WeChat-safe
 * profile too).
 */
export const depositZh = {
  'deposit.title': '保证金',
  'deposit.hint': '保证金由商户代为保管，不是佣金，也不计入可提现余额；退出时全额退还。',
  'deposit.required': '应缴',
  'deposit.paid': '已缴',
  'deposit.held': '商户持有',
  'deposit.refunded': '已退还',
  'deposit.state.due': '待缴纳：还需缴纳 {amount}',
  'deposit.state.partial': '已缴部分：还需缴纳 {amount}',
  'deposit.state.held': '已缴足，由商户保管',
  'deposit.state.refunded': '已全额退还',
  'deposit.state.none': '无需缴纳',
  'deposit.refunding': '退还中',
  'deposit.refund.title': '退还',
  'deposit.refund.asked': '{amount}，申请于 {time}',
  'deposit.refund.status.pending_review': '待审核',
  'deposit.refund.status.approved': '打款中',
  'deposit.refund.status.paid': '已退还',
  'deposit.refund.status.failed': '失败（保证金已退回由商户持有）',
  'deposit.refund.status.rejected': '已驳回',
  'deposit.refund.waiting': '退还款项已通过微信转账发出，需要你在微信中确认收款后才会到账。',
  'deposit.refund.confirm': '确认收款',
  'deposit.refund.openInWechat': '请在微信中打开本页，点击“确认收款”。',
  'deposit.error': '保证金信息暂时无法读取：{message}',
} as const;

export const depositEn: Record<keyof typeof depositZh, string> = {
  'deposit.title': 'Deposit',
  'deposit.hint':
    'The merchant holds your deposit for you: it is not commission and not part of your withdrawable balance. It is refunded in full when you leave.',
  'deposit.required': 'Required',
  'deposit.paid': 'Paid',
  'deposit.held': 'Held by the merchant',
  'deposit.refunded': 'Refunded',
  'deposit.state.due': 'To pay: {amount} still due',
  'deposit.state.partial': 'Partly paid: {amount} still due',
  'deposit.state.held': 'Paid in full, held by the merchant',
  'deposit.state.refunded': 'Refunded in full',
  'deposit.state.none': 'No deposit required',
  'deposit.refunding': 'Being refunded',
  'deposit.refund.title': 'Refund',
  'deposit.refund.asked': '{amount}, asked for on {time}',
  'deposit.refund.status.pending_review': 'Awaiting approval',
  'deposit.refund.status.approved': 'Being paid',
  'deposit.refund.status.paid': 'Refunded',
  'deposit.refund.status.failed': 'Failed (the deposit is held again)',
  'deposit.refund.status.rejected': 'Rejected',
  'deposit.refund.waiting': 'The refund was sent as a WeChat transfer: it arrives once you confirm receipt in WeChat.',
  'deposit.refund.confirm': 'Confirm receipt',
  'deposit.refund.openInWechat': 'Open this page in WeChat and tap “Confirm receipt”.',
  'deposit.error': 'Your deposit could not be read just now: {message}',
};
