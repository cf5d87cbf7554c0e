import { createDecipheriv, createPrivateKey, createSign, createVerify, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlipaySimulator } from './alipay-server.ts';
import { beijingPlain } from './http.ts';
import { alipayCertSn, generateRsaKeyPair } from './pki.ts';
import { WechatPaySimulator } from './wechat-server.ts';

/**
 * The simulators checked by hand-made requests, without Fenxiao's adapters: the adapters' tests
 * lean on them, so they must hold to the documents on their own and not merely agree with the
 * adapter code.
 */

describe('WeChat Pay simulator', () => {
  const merchant = generateRsaKeyPair();
  const apiV3Key = 'x'.repeat(32);
  let sim: WechatPaySimulator;

  beforeAll(async () => {
    sim = await WechatPaySimulator.start({
      mchId: '1900000001',
      appId: 'wx1',
      merchantPublicKeyPem: merchant.publicKeyPem,
      merchantSerialNo: 'MSERIAL',
      apiV3Key,
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  async function call(method: 'GET' | 'POST', path: string, body: string, key = merchant.privateKeyPem) {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(8).toString('hex');
    const signature = createSign('RSA-SHA256').update(`${method}\n${path}\n${ts}\n${nonce}\n${body}\n`).sign(key, 'base64');
    const res = await fetch(sim.origin + path, {
      method,
      headers: {
        authorization: `WECHATPAY2-SHA256-RSA2048 mchid="1900000001",serial_no="MSERIAL",nonce_str="${nonce}",timestamp="${ts}",signature="${signature}"`,
        'content-type': 'application/json',
      },
      body: method === 'GET' ? undefined : body,
    });
    const text = await res.text();
    const verified = createVerify('RSA-SHA256')
      .update(`${res.headers.get('wechatpay-timestamp')}\n${res.headers.get('wechatpay-nonce')}\n${text}\n`)
      .verify(sim.platformPublicKeyPem, res.headers.get('wechatpay-signature') ?? '', 'base64');
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, verified, serial: res.headers.get('wechatpay-serial') };
  }

  const bill = (outBillNo: string, amount = 500) =>
    JSON.stringify({
      appid: 'wx1',
      out_bill_no: outBillNo,
      transfer_scene_id: '1000',
      openid: 'o1',
      transfer_amount: amount,
      transfer_remark: '奖励',
      transfer_scene_report_infos: [
        { info_type: '活动名称', info_content: '新人' },
        { info_type: '奖励说明', info_content: '现金' },
      ],
    });

  it('refuses a request signed with another key with 401 SIGN_ERROR, and records nothing', async () => {
    const res = await call('POST', '/v3/fund-app/mch-transfer/transfer-bills', bill('SIMW1'), generateRsaKeyPair().privateKeyPem);
    expect(res).toMatchObject({ status: 401, json: { code: 'SIGN_ERROR' } });
    expect(sim.bills.has('SIMW1')).toBe(false);
  });

  it('creates, repeats the same bill for an identical body, refuses a changed body, and signs every answer with its platform key', async () => {
    const first = await call('POST', '/v3/fund-app/mch-transfer/transfer-bills', bill('SIMW2'));
    expect(first).toMatchObject({ status: 200, verified: true, serial: sim.platformPublicKeyId, json: { out_bill_no: 'SIMW2', state: 'SUCCESS' } });
    const again = await call('POST', '/v3/fund-app/mch-transfer/transfer-bills', bill('SIMW2'));
    expect(again.json.transfer_bill_no).toBe(first.json.transfer_bill_no);
    const changed = await call('POST', '/v3/fund-app/mch-transfer/transfer-bills', bill('SIMW2', 501));
    expect(changed).toMatchObject({ status: 400, verified: true, json: { code: 'INVALID_REQUEST' } });
    expect(sim.createdCount('SIMW2')).toBe(1);
    const query = await call('GET', '/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/SIMW2', '');
    expect(query).toMatchObject({ status: 200, verified: true, json: { state: 'SUCCESS', transfer_amount: 500, mch_id: '1900000001' } });
    const missing = await call('GET', '/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/NOPE', '');
    expect(missing).toMatchObject({ status: 404, verified: true, json: { code: 'NOT_FOUND' } });
  });

  it('requires user_name from 2,000 yuan', async () => {
    const res = await call('POST', '/v3/fund-app/mch-transfer/transfer-bills', bill('SIMW3', 200_000));
    expect(res).toMatchObject({ status: 400, json: { code: 'PARAM_ERROR' } });
  });

  it('encrypts callbacks with AES-256-GCM under the APIv3 key and signs the raw body', async () => {
    await call('POST', '/v3/fund-app/mch-transfer/transfer-bills', bill('SIMW4'));
    const { headers, body } = sim.buildCallback('SIMW4');
    const signed = `${headers['wechatpay-timestamp']}\n${headers['wechatpay-nonce']}\n${body.toString('utf8')}\n`;
    expect(createVerify('RSA-SHA256').update(signed).verify(sim.platformPublicKeyPem, headers['wechatpay-signature']!, 'base64')).toBe(true);
    const envelope = JSON.parse(body.toString('utf8')) as { event_type: string; resource: { ciphertext: string; nonce: string; associated_data: string } };
    expect(envelope.event_type).toBe('MCHTRANSFER.BILL.FINISHED');
    const data = Buffer.from(envelope.resource.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key), Buffer.from(envelope.resource.nonce));
    decipher.setAAD(Buffer.from(envelope.resource.associated_data));
    decipher.setAuthTag(data.subarray(-16));
    const plain = JSON.parse(Buffer.concat([decipher.update(data.subarray(0, -16)), decipher.final()]).toString('utf8')) as Record<string, unknown>;
    expect(plain).toMatchObject({ out_bill_no: 'SIMW4', state: 'SUCCESS', transfer_amount: 500, mch_id: '1900000001' });
  });
});

describe('Alipay simulator', () => {
  const app = generateRsaKeyPair();
  let sim: AlipaySimulator;
  let appCertSn = '';

  beforeAll(async () => {
    sim = await AlipaySimulator.start({ appId: '2021000000000009' });
    appCertSn = alipayCertSn(sim.issueAppCert(app.privateKeyPem));
  });
  afterAll(async () => {
    await sim.close();
  });

  async function gateway(method: string, biz: Record<string, unknown>, over: Record<string, string> = {}, signKey = app.privateKeyPem) {
    const params: Record<string, string> = {
      app_id: '2021000000000009',
      method,
      charset: 'utf-8',
      sign_type: 'RSA2',
      version: '1.0',
      timestamp: beijingPlain(Date.now()),
      app_cert_sn: appCertSn,
      alipay_root_cert_sn: sim.rootCertSn,
      biz_content: JSON.stringify(biz),
      ...over,
    };
    const content = Object.keys(params)
      .sort()
      .map((k) => `${k}=${params[k]}`)
      .join('&');
    params.sign = createSign('RSA-SHA256').update(content).sign(createPrivateKey(signKey), 'base64');
    const res = await fetch(sim.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    const text = await res.text();
    const key = `${method.replace(/\./g, '_')}_response`;
    const parsed = JSON.parse(text) as Record<string, unknown>;
    // The signed text is the response object exactly as written.
    const start = text.indexOf(`"${key}":`) + key.length + 3;
    const inner = text.slice(start, text.indexOf(',"alipay_cert_sn"'));
    const verified = createVerify('RSA-SHA256').update(inner).verify(sim.alipayPublicKey, String(parsed.sign), 'base64');
    return { body: parsed[key] as Record<string, unknown>, verified, certSn: parsed.alipay_cert_sn };
  }

  const transfer = (outBizNo: string, amount = '1.00') => ({
    out_biz_no: outBizNo,
    trans_amount: amount,
    product_code: 'TRANS_ACCOUNT_NO_PWD',
    biz_scene: 'DIRECT_TRANSFER',
    order_title: '佣金',
    payee_info: { identity: '2088000000000001', identity_type: 'ALIPAY_USER_ID' },
  });

  it('transfers once per out_biz_no, refuses changed details, and signs answers with the Alipay certificate key', async () => {
    const first = await gateway('alipay.fund.trans.uni.transfer', transfer('SIMA1'));
    expect(first).toMatchObject({ verified: true, certSn: sim.alipayCertSn, body: { code: '10000', status: 'SUCCESS', out_biz_no: 'SIMA1' } });
    const again = await gateway('alipay.fund.trans.uni.transfer', transfer('SIMA1'));
    expect(again.body.order_id).toBe(first.body.order_id);
    const changed = await gateway('alipay.fund.trans.uni.transfer', transfer('SIMA1', '2.00'));
    expect(changed.body).toMatchObject({ code: '40004', sub_code: 'PAYMENT_INFO_INCONSISTENCY' });
    expect(sim.createdCount('SIMA1')).toBe(1);
    const query = await gateway('alipay.fund.trans.common.query', { out_biz_no: 'SIMA1', product_code: 'TRANS_ACCOUNT_NO_PWD', biz_scene: 'DIRECT_TRANSFER' });
    expect(query).toMatchObject({ verified: true, body: { code: '10000', status: 'SUCCESS', trans_amount: '1.00' } });
    const missing = await gateway('alipay.fund.trans.common.query', { out_biz_no: 'NOPE', product_code: 'TRANS_ACCOUNT_NO_PWD', biz_scene: 'DIRECT_TRANSFER' });
    expect(missing).toMatchObject({ verified: true, body: { code: '40004', sub_code: 'ORDER_NOT_EXIST' } });
  });

  it('refuses a wrong signature, a wrong root SN, a UTC timestamp, and an amount that is not a 2-decimal yuan string', async () => {
    expect((await gateway('alipay.fund.trans.uni.transfer', transfer('SIMA2'), {}, generateRsaKeyPair().privateKeyPem)).body).toMatchObject({
      code: '40002',
      sub_code: 'isv.invalid-signature',
    });
    expect(
      (await gateway('alipay.fund.trans.uni.transfer', transfer('SIMA2'), { timestamp: new Date().toISOString().slice(0, 19).replace('T', ' ') })).body,
    ).toMatchObject({ code: '40002', sub_code: 'isv.invalid-timestamp' });
    expect((await gateway('alipay.fund.trans.uni.transfer', transfer('SIMA2'), { alipay_root_cert_sn: 'abc' })).body).toMatchObject({
      code: '40002',
      sub_code: 'isv.alipay-root-cert-sn-invalid',
    });
    expect((await gateway('alipay.fund.trans.uni.transfer', transfer('SIMA2', '1.5'))).body).toMatchObject({ code: '40004', sub_code: 'INVALID_PARAMETER' });
    expect((await gateway('alipay.fund.trans.uni.transfer', { ...transfer('SIMA2'), trans_amount: 100 })).body).toMatchObject({
      code: '40004',
      sub_code: 'INVALID_PARAMETER',
    });
    expect(sim.createdCount('SIMA2')).toBe(0);
  });

  it('signs notifications over every parameter but sign and sign_type', async () => {
    await gateway('alipay.fund.trans.uni.transfer', transfer('SIMA3'));
    const params = new URLSearchParams(sim.buildNotify('SIMA3').toString('utf8'));
    expect(params.get('sign_type')).toBe('RSA2');
    const content = [...params.entries()]
      .filter(([k]) => k !== 'sign' && k !== 'sign_type')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    expect(createVerify('RSA-SHA256').update(content).verify(sim.alipayPublicKey, params.get('sign')!, 'base64')).toBe(true);
    expect(JSON.parse(params.get('biz_content')!)).toMatchObject({ out_biz_no: 'SIMA3', status: 'SUCCESS', trans_amount: '1.00' });
  });
});
