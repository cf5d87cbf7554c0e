import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlipaySimulator } from '../../../test/support/providers/alipay-server.ts';
import { generateRsaKeyPair } from '../../../test/support/providers/pki.ts';
import { WechatPaySimulator } from '../../../test/support/providers/wechat-server.ts';
import { createPayoutChannels, PayoutChannelNotConfigured, type PayoutChannelsConfig } from './index.ts';

const merchant = generateRsaKeyPair();
const alipayApp = generateRsaKeyPair();
let wechatSim: WechatPaySimulator;
let alipaySim: AlipaySimulator;
let full: PayoutChannelsConfig;

beforeAll(async () => {
  wechatSim = await WechatPaySimulator.start({
    mchId: '1900000109',
    appId: 'wx0000000000000001',
    merchantPublicKeyPem: merchant.publicKeyPem,
    merchantSerialNo: 'SERIAL1',
    apiV3Key: 'k'.repeat(32),
  });
  alipaySim = await AlipaySimulator.start({ appId: '2021000000000002' });
  full = {
    wechat: {
      mchId: '1900000109',
      appId: 'wx0000000000000001',
      merchantPrivateKey: merchant.privateKeyPem,
      merchantSerialNo: 'SERIAL1',
      platformPublicKeys: [{ serial: wechatSim.platformPublicKeyId, publicKey: wechatSim.platformPublicKeyPem }],
      apiV3Key: 'k'.repeat(32),
      transferSceneId: '1005',
      transferSceneReportInfos: [
        { infoType: '岗位类型', infoContent: '分销员' },
        { infoType: '报酬说明', infoContent: '分销佣金' },
      ],
      baseUrl: wechatSim.origin,
    },
    alipay: {
      appId: '2021000000000002',
      privateKey: alipayApp.privateKeyPem,
      appCert: alipaySim.issueAppCert(alipayApp.privateKeyPem),
      alipayPublicCert: alipaySim.alipayPublicCertPem,
      alipayRootCert: alipaySim.rootCertBundlePem,
      gateway: alipaySim.gatewayUrl,
    },
  };
});

afterAll(async () => {
  await wechatSim.close();
  await alipaySim.close();
});

describe('createPayoutChannels', () => {
  it('offers manual and bank by default, and refuses a provider that is not configured', () => {
    const channels = createPayoutChannels({});
    expect(channels.configured).toEqual(['manual', 'bank']);
    expect(channels.get('manual').name).toBe('manual');
    expect(() => channels.get('wechat')).toThrow(PayoutChannelNotConfigured);
    expect(createPayoutChannels({ bank: { enabled: false } }).configured).toEqual(['manual']);
  });

  it('builds WeChat Pay and Alipay from their config, each reaching its (simulated) provider', async () => {
    const channels = createPayoutChannels(full);
    expect(channels.configured).toEqual(['manual', 'bank', 'wechat', 'alipay']);
    const wechat = await channels.get('wechat').submit({ outNo: 'IDX0001', amountFen: 100, remark: '佣金', account: { channel: 'wechat', openid: 'o1' } });
    const alipay = await channels.get('alipay').submit({
      outNo: 'IDX0001',
      amountFen: 100,
      remark: '佣金',
      account: { channel: 'alipay', identity: '2088000000000001', identityType: 'ALIPAY_USER_ID' },
    });
    expect([wechat.outcome, alipay.outcome]).toEqual(['succeeded', 'succeeded']);
    expect(wechatSim.createdCount('IDX0001')).toBe(1);
    expect(alipaySim.createdCount('IDX0001')).toBe(1);
  });

  it('fails at boot on bad key material rather than at the first payout', () => {
    expect(() => createPayoutChannels({ wechat: { ...full.wechat!, merchantPrivateKey: '/nonexistent/apiclient_key.pem' } })).toThrow();
    expect(() => createPayoutChannels({ wechat: { ...full.wechat!, apiV3Key: 'short' } })).toThrow(/32 bytes/);
    expect(() => createPayoutChannels({ wechat: { ...full.wechat!, platformPublicKeys: [] } })).toThrow(/platform public key/);
    expect(() => createPayoutChannels({ alipay: { ...full.alipay!, appCert: 'not a certificate' } })).toThrow();
  });
});
