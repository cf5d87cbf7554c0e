import { createAlipayChannel, type AlipayChannel, type AlipayConfig } from './alipay.ts';
import { createBankChannel } from './bank.ts';
import { createManualChannel } from './manual.ts';
import type { PayoutChannel, PayoutChannelName } from './types.ts';
import { createWechatPayChannel, type WechatPayChannel, type WechatPayConfig } from './wechat.ts';

export type { AlipayConfig } from './alipay.ts';
export type { WechatPayConfig, WechatPlatformKey } from './wechat.ts';
export { renderBankBatchFile, type BankBatchLine } from './bank.ts';
export { fenToYuan, yuanToFen } from './amount.ts';
export * from './types.ts';

/**
 * Which payout channels this deployment offers. `manual` is always there; `bank` unless turned
 * off; WeChat Pay and Alipay only when their key material is configured.
 *
 * Environment variables (to be read by src/app/config.ts; key material is a PEM, a bare base64
 * body, or a path to a file):
 *
 *   FENXIAO_PAYOUT_BANK_ENABLED                   true | false, default true
 *
 *   FENXIAO_WECHATPAY_MCH_ID                      merchant id (商户号); setting it enables WeChat Pay
 *   FENXIAO_WECHATPAY_APP_ID                      appid the payees' openids belong to
 *   FENXIAO_WECHATPAY_MERCHANT_PRIVATE_KEY        apiclient_key.pem
 *   FENXIAO_WECHATPAY_MERCHANT_SERIAL_NO          merchant API certificate serial
 *   FENXIAO_WECHATPAY_PLATFORM_PUBLIC_KEY         WeChat Pay public key (pub_key.pem) or platform certificate
 *   FENXIAO_WECHATPAY_PLATFORM_PUBLIC_KEY_ID      its id / serial, e.g. PUB_KEY_ID_0112…
 *   FENXIAO_WECHATPAY_APIV3_KEY                   32-character APIv3 key
 *   FENXIAO_WECHATPAY_TRANSFER_SCENE_ID           default 1005 (佣金报酬)
 *   FENXIAO_WECHATPAY_TRANSFER_SCENE_REPORT_INFOS JSON [{"infoType":"岗位类型","infoContent":"分销员"},{"infoType":"报酬说明","infoContent":"分销佣金"}]
 *   FENXIAO_WECHATPAY_USER_RECV_PERCEPTION        optional
 *   FENXIAO_WECHATPAY_NOTIFY_URL                  https URL of the transfer callback route
 *   FENXIAO_WECHATPAY_BASE_URL                    default https://api.mch.weixin.qq.com
 *   FENXIAO_WECHATPAY_TIMEOUT_MS                  default 10000
 *   FENXIAO_WECHATPAY_SIGNATURE_TOLERANCE_SECONDS default 300
 *
 *   FENXIAO_ALIPAY_APP_ID                         setting it enables Alipay
 *   FENXIAO_ALIPAY_PRIVATE_KEY                    application private key (PKCS#1 or PKCS#8)
 *   FENXIAO_ALIPAY_APP_CERT                       appCertPublicKey_<appid>.crt
 *   FENXIAO_ALIPAY_PUBLIC_CERT                    alipayCertPublicKey_RSA2.crt
 *   FENXIAO_ALIPAY_ROOT_CERT                      alipayRootCert.crt
 *   FENXIAO_ALIPAY_GATEWAY                        default https://openapi.alipay.com/gateway.do
 *   FENXIAO_ALIPAY_TIMEOUT_MS                     default 10000
 */
export interface PayoutChannelsConfig {
  bank?: { enabled: boolean } | undefined;
  wechat?: WechatPayConfig | undefined;
  alipay?: AlipayConfig | undefined;
}

export interface PayoutChannelsDeps {
  fetch?: typeof fetch;
  clock?: { now(): Date };
}

export class PayoutChannelNotConfigured extends Error {
  constructor(readonly channel: PayoutChannelName) {
    super(`payout channel ${channel} is not configured`);
  }
}

export interface PayoutChannels {
  readonly manual: PayoutChannel;
  readonly bank?: PayoutChannel | undefined;
  readonly wechat?: WechatPayChannel | undefined;
  readonly alipay?: AlipayChannel | undefined;
  /** Names of the channels on offer, for the withdrawal form. */
  readonly configured: readonly PayoutChannelName[];
  /** The channel by name; throws PayoutChannelNotConfigured for one that is not on offer. */
  get(name: PayoutChannelName): PayoutChannel;
}

/** Builds each configured channel once at boot, so bad key material fails the start, not a payout. */
export function createPayoutChannels(config: PayoutChannelsConfig, deps: PayoutChannelsDeps = {}): PayoutChannels {
  const manual = createManualChannel();
  const bank = config.bank?.enabled === false ? undefined : createBankChannel();
  const wechat = config.wechat ? createWechatPayChannel(config.wechat, { fetch: deps.fetch, clock: deps.clock }) : undefined;
  const alipay = config.alipay ? createAlipayChannel(config.alipay, { clock: deps.clock }) : undefined;
  const byName: Partial<Record<PayoutChannelName, PayoutChannel>> = { manual, bank, wechat, alipay };
  const configured = (Object.keys(byName) as PayoutChannelName[]).filter((name) => byName[name] !== undefined);
  return {
    manual,
    bank,
    wechat,
    alipay,
    configured,
    get(name) {
      const channel = byName[name];
      if (!channel) throw new PayoutChannelNotConfigured(name);
      return channel;
    },
  };
}
