/**
 * The admission deposit on the portal's home (GET /v1/me/deposit): what the program asks, what
 * was paid, what the merchant holds and what was refunded. Chinese first; English has every key.
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
  'deposit.more': '其他信息',
  'deposit.yes': '是',
  'deposit.no': '否',
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
  'deposit.more': 'More',
  'deposit.yes': 'yes',
  'deposit.no': 'no',
  'deposit.error': 'Your deposit could not be read just now: {message}',
};
