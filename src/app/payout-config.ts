import type { PayoutChannelsConfig } from '../adapters/payout/index.ts';
import { ConfigError } from './config.ts';

type Env = Record<string, string | undefined>;

const opt = (env: Env, name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
function need(env: Env, name: string): string {
  const v = opt(env, name);
  if (v === undefined) throw new ConfigError(`${name} is required when its payout channel is enabled`);
  return v;
}
function int(env: Env, name: string): number | undefined {
  const v = opt(env, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name} must be an integer`);
  return Number(v);
}

/**
 * The payout channels this deployment offers, from the environment (docs/payouts.md lists every
 * variable). WeChat Pay turns on with FENXIAO_WECHATPAY_MCH_ID, Alipay with FENXIAO_ALIPAY_APP_ID;
 * key material is a PEM, a bare base64 body or a file path. Read once at boot: bad key material
 * stops the start, not a payout.
 */
export function payoutConfigFromEnv(env: Env = process.env): PayoutChannelsConfig {
  const config: PayoutChannelsConfig = { bank: { enabled: !/^(0|false|no|off)$/i.test(opt(env, 'FENXIAO_PAYOUT_BANK_ENABLED') ?? 'true') } };
  if (opt(env, 'FENXIAO_WECHATPAY_MCH_ID')) {
    let infos: Array<{ infoType: string; infoContent: string }> = [
      { infoType: '岗位类型', infoContent: '分销员' },
      { infoType: '报酬说明', infoContent: '分销佣金' },
    ];
    const rawInfos = opt(env, 'FENXIAO_WECHATPAY_TRANSFER_SCENE_REPORT_INFOS');
    if (rawInfos) {
      try {
        infos = JSON.parse(rawInfos) as typeof infos;
      } catch {
        throw new ConfigError('FENXIAO_WECHATPAY_TRANSFER_SCENE_REPORT_INFOS must be a JSON array');
      }
    }
    config.wechat = {
      mchId: need(env, 'FENXIAO_WECHATPAY_MCH_ID'),
      appId: need(env, 'FENXIAO_WECHATPAY_APP_ID'),
      merchantPrivateKey: need(env, 'FENXIAO_WECHATPAY_MERCHANT_PRIVATE_KEY'),
      merchantSerialNo: need(env, 'FENXIAO_WECHATPAY_MERCHANT_SERIAL_NO'),
      platformPublicKeys: [{ serial: need(env, 'FENXIAO_WECHATPAY_PLATFORM_PUBLIC_KEY_ID'), publicKey: need(env, 'FENXIAO_WECHATPAY_PLATFORM_PUBLIC_KEY') }],
      apiV3Key: need(env, 'FENXIAO_WECHATPAY_APIV3_KEY'),
      transferSceneId: opt(env, 'FENXIAO_WECHATPAY_TRANSFER_SCENE_ID') ?? '1005',
      transferSceneReportInfos: infos,
      userRecvPerception: opt(env, 'FENXIAO_WECHATPAY_USER_RECV_PERCEPTION'),
      notifyUrl: opt(env, 'FENXIAO_WECHATPAY_NOTIFY_URL'),
      baseUrl: opt(env, 'FENXIAO_WECHATPAY_BASE_URL'),
      timeoutMs: int(env, 'FENXIAO_WECHATPAY_TIMEOUT_MS'),
      signatureToleranceSeconds: int(env, 'FENXIAO_WECHATPAY_SIGNATURE_TOLERANCE_SECONDS'),
    };
  }
  if (opt(env, 'FENXIAO_ALIPAY_APP_ID')) {
    config.alipay = {
      appId: need(env, 'FENXIAO_ALIPAY_APP_ID'),
      privateKey: need(env, 'FENXIAO_ALIPAY_PRIVATE_KEY'),
      appCert: need(env, 'FENXIAO_ALIPAY_APP_CERT'),
      alipayPublicCert: need(env, 'FENXIAO_ALIPAY_PUBLIC_CERT'),
      alipayRootCert: need(env, 'FENXIAO_ALIPAY_ROOT_CERT'),
      gateway: opt(env, 'FENXIAO_ALIPAY_GATEWAY'),
      timeoutMs: int(env, 'FENXIAO_ALIPAY_TIMEOUT_MS'),
    };
  }
  return config;
}
