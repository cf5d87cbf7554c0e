/** The WeChat official account settings card (docs/wechat.md). Chinese first; English has every key. */
export const wechatZh = {
  'wechat.title': '微信公众号',
  'wechat.help':
    '填写已认证服务号的 AppID 和 AppSecret 后，分销员可以在微信里用微信登录、绑定微信收款账户、分享邀请卡片并确认收款。请在公众平台把下面的域名填入“网页授权域名”和“JS接口安全域名”。',
  'wechat.appId': 'AppID',
  'wechat.appSecret': 'AppSecret',
  'wechat.secretKeep': '已设置（不再显示）；留空则保留原密钥',
  'wechat.secretMissing': '未设置',
  'wechat.callback': '授权回调地址',
  'wechat.domain': '网页授权域名 / JS接口安全域名',
  'wechat.payoutAppId': '微信支付使用的 AppID',
  'wechat.payoutMismatch': '与公众号 AppID 不一致：通过公众号获取的 openid 无法用于微信支付转账。',
  'wechat.save': '保存',
  'wechat.saved': '微信公众号设置已保存',
  'wechat.status': '状态',
  'wechat.on': '已启用微信登录',
  'wechat.off': '未启用',
};

export const wechatEn: Record<keyof typeof wechatZh, string> = {
  'wechat.title': 'WeChat official account',
  'wechat.help':
    "With a verified service account's AppID and AppSecret, distributors in WeChat sign in with WeChat, link it as their WeChat payout account, share invite cards and confirm transfers. Enter the domain below as the account's OAuth domain (网页授权域名) and JS API safe domain (JS接口安全域名).",
  'wechat.appId': 'AppID',
  'wechat.appSecret': 'AppSecret',
  'wechat.secretKeep': 'Set (never shown again); leave empty to keep it',
  'wechat.secretMissing': 'Not set',
  'wechat.callback': 'OAuth callback',
  'wechat.domain': 'OAuth domain / JS API safe domain',
  'wechat.payoutAppId': 'AppID WeChat Pay pays',
  'wechat.payoutMismatch': "Differs from the official account's AppID: openids it captures cannot be paid by WeChat Pay transfers.",
  'wechat.save': 'Save',
  'wechat.saved': 'WeChat settings saved',
  'wechat.status': 'Status',
  'wechat.on': 'WeChat sign-in is on',
  'wechat.off': 'Off',
};
