/** The personal-data card of a distributor's page (PIPL). Chinese first; English has every key. */
export const piiZh = {
  'pii.title': '个人信息（PIPL）',
  'pii.intro': '页面上的个人信息均已脱敏。查看完整信息、导出和注销都会记入审计日志。',
  'pii.reveal': '查看完整个人信息',
  'pii.revealTitle': '完整个人信息（本次查看已记入审计日志）',
  'pii.export': '导出个人信息（.xlsx）',
  'pii.erase': '注销并匿名化',
  'pii.eraseTitle': '注销分销员并匿名化个人信息',
  'pii.eraseWarning':
    '姓名、手机号、身份证号、联系方式、收款账户和证件照片将被永久销毁，账号不能再登录，也不再产生新佣金；账本、佣金与提现记录保留金额。尚有待结算或在途资金时无法注销。此操作不能撤销。',
  'pii.eraseReason': '原因（例如本人申请及日期；请勿填写个人信息）',
  'pii.erased': '已注销并匿名化',
  'pii.phone': '手机号',
  'pii.realName': '真实姓名',
  'pii.idNumber': '身份证号',
  'pii.wechat': '微信号',
  'pii.email': '邮箱',
  'pii.address': '地址',
  'pii.accounts': '收款账户',
  'pii.none': '无',
} as const;

export const piiEn: Record<keyof typeof piiZh, string> = {
  'pii.title': 'Personal data (PIPL)',
  'pii.intro': 'Personal data on these pages is masked. Revealing, exporting and erasing it are recorded in the audit log.',
  'pii.reveal': 'Show personal data in full',
  'pii.revealTitle': 'Personal data in full (this view is in the audit log)',
  'pii.export': 'Export personal data (.xlsx)',
  'pii.erase': 'Erase and anonymise',
  'pii.eraseTitle': 'Erase the distributor and anonymise its personal data',
  'pii.eraseWarning':
    'Name, phone, ID number, contact details, payout accounts and documents are destroyed for good; the account can no longer sign in and earns nothing new; the ledger, commissions and withdrawals keep their amounts. Refused while money is still owed or on its way. This cannot be undone.',
  'pii.eraseReason': "Reason (e.g. the person's request and its date; no personal data here)",
  'pii.erased': 'Erased and anonymised',
  'pii.phone': 'Phone',
  'pii.realName': 'Real name',
  'pii.idNumber': 'ID number',
  'pii.wechat': 'WeChat',
  'pii.email': 'Email',
  'pii.address': 'Address',
  'pii.accounts': 'Payout accounts',
  'pii.none': 'none',
};
