import type { LocalText } from '../../core/error-text.ts';

/** What the wechat module's errors say, in English and Chinese (the portal shows them in WeChat). */
export const WX = {
  distributorOnly: (): LocalText => ({ en: "this route is for a distributor's own session", zh: '此接口仅限分销员本人使用' }),
  notSetUp: (): LocalText => ({
    en: 'WeChat is not set up for this merchant (PUT /v1/wechat/settings)',
    zh: '商户尚未配置微信公众号（PUT /v1/wechat/settings）',
  }),
  badCode: (errcode: number): LocalText => ({
    en: `WeChat refused the code (errcode ${errcode}): it is wrong, used or expired; sign in with WeChat again`,
    zh: `微信拒绝了授权码（errcode ${errcode}）：授权码错误、已使用或已过期，请重新进行微信授权`,
  }),
  wechatDown: (what: string): LocalText => ({
    en: `WeChat did not answer as expected (${what}); check the official account settings (docs/wechat.md)`,
    zh: `微信接口未正常应答（${what}），请检查公众号配置（docs/wechat.md）`,
  }),
  stateUnknown: (): LocalText => ({
    en: 'this WeChat sign-in is unknown, expired or used already: start again',
    zh: '这次微信授权无效、已过期或已使用，请重新授权',
  }),
  otherBrowser: (): LocalText => ({
    en: 'this WeChat sign-in was started in another browser: start again here',
    zh: '这次微信授权是在其他浏览器发起的，请在本浏览器重新授权',
  }),
  appChanged: (): LocalText => ({ en: 'the official account changed during sign-in: start again', zh: '授权过程中公众号配置已变更，请重新授权' }),
  snapshot: (): LocalText => ({ en: 'open the page in WeChat (not the snapshot preview) to sign in', zh: '请在微信中完整打开页面（而不是快照预览）后再授权' }),
  newAppNeedsSecret: (): LocalText => ({ en: 'a new app_id needs its app_secret', zh: '更换 app_id 时必须同时填写 app_secret' }),
  closed: (status: string): LocalText => ({
    en: `this distributor is ${status}: signing in is closed; contact the merchant`,
    zh: `该分销员状态为 ${status}，不能登录，请联系商户`,
  }),
  otherSession: (): LocalText => ({ en: 'this WeChat link was started by another session: start again', zh: '这次微信绑定由其他登录会话发起，请重新操作' }),
  taken: (): LocalText => ({ en: 'this WeChat account is linked to another distributor', zh: '该微信已绑定其他分销员' }),
  badUrl: (): LocalText => ({ en: 'url must be an absolute address', zh: 'url 必须是完整地址' }),
  foreignUrl: (origin: string): LocalText => ({ en: `url must be a page of ${origin}`, zh: `url 必须是 ${origin} 下的页面` }),
  notWechatPay: (): LocalText => ({ en: 'this withdrawal is not paid through WeChat Pay', zh: '这笔提现不是通过微信支付打款' }),
  notWaiting: (): LocalText => ({ en: "this withdrawal is not waiting for the payee's confirmation", zh: '这笔提现当前不需要收款人确认' }),
  refundNotWechatPay: (): LocalText => ({ en: 'this deposit refund is not paid through WeChat Pay', zh: '这笔保证金退还不是通过微信支付打款' }),
  refundNotWaiting: (): LocalText => ({ en: "this deposit refund is not waiting for the payee's confirmation", zh: '这笔保证金退还当前不需要收款人确认' }),
};
