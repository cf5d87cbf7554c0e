import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../../test/support/providers/pki.ts';
import { WechatPaySimulator } from '../../../test/support/providers/wechat-server.ts';
import { CallbackRejected, type PayoutRequest } from './types.ts';
import {
  createWechatPayChannel,
  signWechatMessage,
  wechatAuthorization,
  wechatRequestMessage,
  wechatStateOutcome,
  type WechatPayChannel,
  type WechatPayConfig,
} from './wechat.ts';

const MCH_ID = '1900000109';
const APP_ID = 'wxd678efh567hg6787';
const MERCHANT_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const APIV3_KEY = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6';

const merchant = generateRsaKeyPair();
let sim: WechatPaySimulator;
let seq = 0;

/** A fresh out number per test, so tests never see each other's bills. */
function outNo(): string {
  seq += 1;
  return `WD${Date.now()}${String(seq).padStart(4, '0')}`;
}

function request(no: string, over: Partial<PayoutRequest> = {}): PayoutRequest {
  return { outNo: no, amountFen: 12_345, remark: '佣金提现', account: { channel: 'wechat', openid: 'o-payee-1', userName: '张三' }, ...over };
}

function config(over: Partial<WechatPayConfig> = {}): WechatPayConfig {
  return {
    mchId: MCH_ID,
    appId: APP_ID,
    merchantPrivateKey: merchant.privateKeyPem,
    merchantSerialNo: MERCHANT_SERIAL,
    platformPublicKeys: [{ serial: sim.platformPublicKeyId, publicKey: sim.platformPublicKeyPem }],
    apiV3Key: APIV3_KEY,
    transferSceneId: '1005',
    transferSceneReportInfos: [
      { infoType: '岗位类型', infoContent: '分销员' },
      { infoType: '报酬说明', infoContent: '分销佣金' },
    ],
    notifyUrl: 'https://fenxiao.test/callbacks/wechat',
    baseUrl: sim.origin,
    // Generous for a loaded CI machine; the timeout tests use their own short-fused channel.
    timeoutMs: 5_000,
    ...over,
  };
}

let channel: WechatPayChannel;

beforeAll(async () => {
  sim = await WechatPaySimulator.start({
    mchId: MCH_ID,
    appId: APP_ID,
    merchantPublicKeyPem: merchant.publicKeyPem,
    merchantSerialNo: MERCHANT_SERIAL,
    apiV3Key: APIV3_KEY,
  });
  channel = createWechatPayChannel(config());
});

afterAll(async () => {
  await sim.close();
});

afterEach(() => {
  sim.behave('*', {});
});

describe('request signing', () => {
  it('builds the message and signature exactly as openssl does for a fixed vector', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-sign-'));
    try {
      execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path.join(dir, 'key.pem')]);
      const keyPem = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
      const body = '{"appid":"wxd678efh567hg6787","out_bill_no":"plfk2020042013","transfer_amount":400000}';
      const message = wechatRequestMessage('post', '/v3/fund-app/mch-transfer/transfer-bills', '1554208460', '593BEC0C930BF1AFEB40B4A08C8FB242', body);
      expect(message).toBe(`POST\n/v3/fund-app/mch-transfer/transfer-bills\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n${body}\n`);
      fs.writeFileSync(path.join(dir, 'message.txt'), message);
      const expected = execFileSync('openssl', ['dgst', '-sha256', '-sign', path.join(dir, 'key.pem'), path.join(dir, 'message.txt')]).toString('base64');
      expect(signWechatMessage(createPrivateKey(keyPem), message)).toBe(expected);

      // GET: empty body, but the line still ends with \n.
      const getMessage = wechatRequestMessage('GET', '/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/plfk2020042013', '1554208460', 'N1', '');
      expect(getMessage).toBe('GET\n/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/plfk2020042013\n1554208460\nN1\n\n');
      fs.writeFileSync(path.join(dir, 'get.txt'), getMessage);
      const expectedGet = execFileSync('openssl', ['dgst', '-sha256', '-sign', path.join(dir, 'key.pem'), path.join(dir, 'get.txt')]).toString('base64');
      expect(signWechatMessage(createPrivateKey(keyPem), getMessage)).toBe(expectedGet);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the Authorization header with every field', () => {
    expect(wechatAuthorization({ mchId: '1900009191', nonce: 'NONCE', timestamp: '1554208460', serialNo: 'SERIAL', signature: 'SIG==' })).toBe(
      'WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="NONCE",timestamp="1554208460",serial_no="SERIAL",signature="SIG=="',
    );
  });

  it('is refused with 401 by the provider when signed with another key, and nothing is created', async () => {
    const stranger = generateRsaKeyPair();
    const wrong = createWechatPayChannel(config({ merchantPrivateKey: stranger.privateKeyPem }));
    const no = outNo();
    const result = await wrong.submit(request(no));
    expect(result.outcome).toBe('unknown');
    expect(sim.requests.at(-1)).toMatchObject({ status: 401 });
    expect(sim.createdCount(no)).toBe(0);
  });
});

describe('state mapping', () => {
  it.each([
    ['ACCEPTED', 'processing'],
    ['PROCESSING', 'processing'],
    ['TRANSFERING', 'processing'],
    ['CANCELING', 'processing'],
    ['WAIT_USER_CONFIRM', 'wait_user_confirm'],
    ['SUCCESS', 'succeeded'],
    ['FAIL', 'failed'],
    ['CANCELLED', 'cancelled'],
    ['SOMETHING_NEW', 'unknown'],
    [undefined, 'unknown'],
  ])('%s → %s', (state, outcome) => {
    expect(wechatStateOutcome(state)).toBe(outcome);
  });
});

describe('transfers against the simulated provider', () => {
  it('pays: succeeded, with the bill number, in integer fen, user_name decryptable by the platform only', async () => {
    const no = outNo();
    const result = await channel.submit(request(no));
    expect(result.outcome).toBe('succeeded');
    const bill = sim.bills.get(no)!;
    expect(result.providerRef).toBe(bill.transferBillNo);
    expect(bill.amountFen).toBe(12_345);
    expect(bill.userName).toBe('张三');
    expect(bill.sceneId).toBe('1005');
    expect(bill.notifyUrl).toBe('https://fenxiao.test/callbacks/wechat');
    expect(sim.createdCount(no)).toBe(1);
  });

  it('reports a FAIL with its fail_reason as the code', async () => {
    const no = outNo();
    sim.behave(no, { outcome: 'fail', failReason: 'NAME_NOT_CORRECT' });
    const result = await channel.submit(request(no));
    expect(result).toMatchObject({ outcome: 'failed', failCode: 'NAME_NOT_CORRECT' });
  });

  it('returns package_info while the payee must confirm; cancel is accepted, then the query says cancelled', async () => {
    const no = outNo();
    sim.behave(no, { outcome: 'wait_user_confirm' });
    const result = await channel.submit(request(no));
    expect(result.outcome).toBe('wait_user_confirm');
    expect(result.packageInfo).toBe(sim.bills.get(no)!.packageInfo);
    expect(result.packageInfo).toBeTruthy();

    const cancelled = await channel.cancel(no);
    expect(cancelled.outcome).toBe('processing');
    const after = await channel.query(no);
    expect(after).toMatchObject({ found: true, outcome: 'cancelled' });
  });

  it('a cancel the provider refuses (already paid) is unknown, never failed', async () => {
    const no = outNo();
    await channel.submit(request(no));
    const result = await channel.cancel(no);
    expect(result.outcome).toBe('unknown');
    expect((await channel.query(no)).outcome).toBe('succeeded');
  });

  it('follows a payee confirmation through the query', async () => {
    const no = outNo();
    sim.behave(no, { outcome: 'wait_user_confirm' });
    await channel.submit(request(no));
    await sim.setState(no, 'SUCCESS');
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'succeeded', amountFen: 12_345 });
  });

  it('a timeout is unknown; the query then finds the success, and only one bill exists', async () => {
    const no = outNo();
    sim.behave(no, { fault: 'timeout' });
    const started = Date.now();
    const result = await createWechatPayChannel(config({ timeoutMs: 300 })).submit(request(no));
    expect(result.outcome).toBe('unknown');
    expect(Date.now() - started).toBeLessThan(5_000);
    sim.behave(no, {});
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'succeeded', providerRef: sim.bills.get(no)!.transferBillNo });
    // Even an identical resend after that cannot pay again.
    expect((await channel.submit(request(no))).outcome).toBe('succeeded');
    expect(sim.createdCount(no)).toBe(1);
    expect(sim.paidToFen('o-payee-1')).toBeGreaterThanOrEqual(12_345);
  });

  it('concurrent identical submits create one bill and all see it', async () => {
    const no = outNo();
    const results = await Promise.all(Array.from({ length: 5 }, () => channel.submit(request(no))));
    expect(results.map((r) => r.outcome)).toEqual(Array(5).fill('succeeded'));
    expect(new Set(results.map((r) => r.providerRef)).size).toBe(1);
    expect(sim.createRequests.get(no)).toBe(5);
    expect(sim.createdCount(no)).toBe(1);
  });

  it('a lost reply is unknown; the query finds the bill', async () => {
    const no = outNo();
    sim.behave(no, { fault: 'lost_reply', outcome: 'processing' });
    expect((await channel.submit(request(no))).outcome).toBe('unknown');
    sim.behave(no, {});
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'processing' });
    expect(sim.createdCount(no)).toBe(1);
  });

  it('an unfamiliar code is unknown; the query finds nothing; the identical resend creates exactly one bill', async () => {
    const no = outNo();
    sim.behave(no, { fault: 'unfamiliar_code' });
    const first = await channel.submit(request(no));
    expect(first).toMatchObject({ outcome: 'unknown', failCode: 'BRAND_NEW_CONDITION' });
    const query = await channel.query(no);
    expect(query).toMatchObject({ found: false });
    sim.behave(no, {});
    expect((await channel.submit(request(no))).outcome).toBe('succeeded');
    expect(sim.createRequests.get(no)).toBe(2);
    expect(sim.createdCount(no)).toBe(1);
  });

  it.each(['http_500', 'system_error', 'frequency_limited'] as const)('%s is unknown and creates nothing', async (fault) => {
    const no = outNo();
    sim.behave(no, { fault });
    expect((await channel.submit(request(no))).outcome).toBe('unknown');
    expect(sim.createdCount(no)).toBe(0);
  });

  it('an answer signed with a key that is not the platform key is unknown, even if it says SUCCESS', async () => {
    const no = outNo();
    sim.behave(no, { fault: 'bad_signature' });
    const result = await channel.submit(request(no));
    expect(result.outcome).toBe('unknown');
    expect(sim.bills.get(no)!.state).toBe('SUCCESS');
    // The query as well, when its answer is forged.
    sim.behave(no, { queryFault: 'bad_signature' });
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'unknown' });
    sim.behave(no, {});
    expect((await channel.query(no)).outcome).toBe('succeeded');
  });

  it('answers from an unknown Wechatpay-Serial are unknown', async () => {
    const other = createWechatPayChannel(config({ platformPublicKeys: [{ serial: 'PUB_KEY_ID_OTHER', publicKey: sim.platformPublicKeyPem }] }));
    const no = outNo();
    expect((await other.submit(request(no, { account: { channel: 'wechat', openid: 'o-payee-1' } }))).outcome).toBe('unknown');
    expect(await other.query(no)).toMatchObject({ found: true, outcome: 'unknown' });
    expect((await channel.query(no)).outcome).toBe('succeeded');
  });

  it('the same out number with different details is unknown (a bill exists), never failed', async () => {
    const no = outNo();
    await channel.submit(request(no));
    const reuse = await channel.submit(request(no, { amountFen: 99 }));
    expect(reuse.outcome).toBe('unknown');
    expect(await channel.query(no)).toMatchObject({ outcome: 'succeeded', amountFen: 12_345 });
    expect(sim.createdCount(no)).toBe(1);
  });

  it('a query failure is unknown with found: true, so nothing resends on it', async () => {
    const no = outNo();
    sim.behave(no, { queryFault: 'system_error' });
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'unknown' });
    sim.behave(no, { queryFault: 'timeout' });
    expect(await createWechatPayChannel(config({ timeoutMs: 300 })).query(no)).toMatchObject({ found: true, outcome: 'unknown' });
    // A "not found" that does not verify licenses nothing either.
    sim.behave(no, { queryFault: 'bad_signature' });
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'unknown' });
    sim.behave(no, {});
    expect(await channel.query(no)).toMatchObject({ found: false });
  });

  it('refuses locally what WeChat Pay would refuse, sending nothing', async () => {
    const before = sim.requests.length;
    const no = outNo();
    expect(await channel.submit(request(no, { amountFen: 200_000, account: { channel: 'wechat', openid: 'o-payee-1' } }))).toMatchObject({
      outcome: 'failed',
      failCode: 'LOCAL_USER_NAME_REQUIRED',
    });
    expect(await channel.submit(request(no, { remark: '这'.repeat(33) }))).toMatchObject({ outcome: 'failed', failCode: 'LOCAL_REMARK_TOO_LONG' });
    expect(await channel.submit(request('WD-bad_no'))).toMatchObject({ outcome: 'failed', failCode: 'LOCAL_INVALID_OUT_NO' });
    expect(await channel.submit(request(no, { amountFen: 10.5 }))).toMatchObject({ outcome: 'failed', failCode: 'LOCAL_INVALID_AMOUNT' });
    expect(sim.requests.length).toBe(before);
    // 2,000 yuan with the name goes through.
    expect((await channel.submit(request(no, { amountFen: 200_000 }))).outcome).toBe('succeeded');
  });

  it('refuses an account of another channel as a programming error', async () => {
    await expect(channel.submit(request(outNo(), { account: { channel: 'alipay', identity: 'x', identityType: 'ALIPAY_USER_ID' } }))).rejects.toThrow(
      TypeError,
    );
  });
});

describe('callbacks', () => {
  let receiver: http.Server;
  let receiverUrl = '';
  const received: Array<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/callbacks/wechat`;
  });

  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  async function paidBill(): Promise<string> {
    const no = outNo();
    await channel.submit(request(no));
    return no;
  }

  it('verifies and decrypts a real delivery; a duplicate delivery verifies to the same result', async () => {
    const no = await paidBill();
    received.length = 0;
    expect(await sim.sendCallback(no, receiverUrl)).toBe(204);
    expect(await sim.sendCallback(no, receiverUrl)).toBe(204);
    expect(received).toHaveLength(2);
    const first = await channel.verifyCallback(received[0]!.headers, received[0]!.body);
    const second = await channel.verifyCallback(received[1]!.headers, received[1]!.body);
    expect(first).toMatchObject({ outNo: no, outcome: 'succeeded', amountFen: 12_345, providerRef: sim.bills.get(no)!.transferBillNo });
    expect(second).toEqual(first);
  });

  it('carries FAIL with its reason and the amount for the caller to check', async () => {
    const no = outNo();
    sim.behave(no, { outcome: 'processing' });
    await channel.submit(request(no));
    await sim.setState(no, 'FAIL', 'ACCOUNT_FROZEN');
    const { headers, body } = sim.buildCallback(no);
    expect(await channel.verifyCallback(headers, body)).toMatchObject({ outNo: no, outcome: 'failed', failCode: 'ACCOUNT_FROZEN', amountFen: 12_345 });
  });

  it('is sent by the provider on its own to notify_url when a bill finishes', async () => {
    const auto = await WechatPaySimulator.start({
      mchId: MCH_ID,
      appId: APP_ID,
      merchantPublicKeyPem: merchant.publicKeyPem,
      merchantSerialNo: MERCHANT_SERIAL,
      apiV3Key: APIV3_KEY,
      autoNotify: true,
    });
    try {
      const autoChannel = createWechatPayChannel({
        ...config(),
        baseUrl: auto.origin,
        notifyUrl: receiverUrl,
        platformPublicKeys: [{ serial: auto.platformPublicKeyId, publicKey: auto.platformPublicKeyPem }],
      });
      const no = outNo();
      auto.behave(no, { outcome: 'wait_user_confirm' });
      received.length = 0;
      await autoChannel.submit(request(no));
      expect(received).toHaveLength(0);
      await auto.setState(no, 'SUCCESS');
      expect(received).toHaveLength(1);
      expect(await autoChannel.verifyCallback(received[0]!.headers, received[0]!.body)).toMatchObject({ outNo: no, outcome: 'succeeded' });
      // Another provider's key cannot vouch for this one's callbacks.
      await expect(channel.verifyCallback(received[0]!.headers, received[0]!.body)).rejects.toThrow(CallbackRejected);
    } finally {
      await auto.close();
    }
  });

  it('refuses a bad signature', async () => {
    const no = await paidBill();
    const { headers, body } = sim.buildCallback(no, { signWith: createPrivateKey(generateRsaKeyPair().privateKeyPem) });
    await expect(channel.verifyCallback(headers, body)).rejects.toThrow(CallbackRejected);
  });

  it('refuses a tampered ciphertext (the GCM tag fails) even under a valid signature', async () => {
    const no = await paidBill();
    const { headers, body } = sim.buildCallback(no, { tamperCiphertext: true });
    await expect(channel.verifyCallback(headers, body)).rejects.toThrow(/decrypt/);
  });

  it('refuses a resource encrypted with another APIv3 key', async () => {
    const no = await paidBill();
    const { headers, body } = sim.buildCallback(no, { apiV3Key: 'Z'.repeat(32) });
    await expect(channel.verifyCallback(headers, body)).rejects.toThrow(CallbackRejected);
  });

  it('refuses a stale timestamp (replay) and one from the future, and honours a configured tolerance', async () => {
    const no = await paidBill();
    const now = Math.floor(Date.now() / 1000);
    const stale = sim.buildCallback(no, { timestamp: now - 301 });
    await expect(channel.verifyCallback(stale.headers, stale.body)).rejects.toThrow(/tolerance/);
    const future = sim.buildCallback(no, { timestamp: now + 400 });
    await expect(channel.verifyCallback(future.headers, future.body)).rejects.toThrow(/tolerance/);
    const lenient = createWechatPayChannel(config({ signatureToleranceSeconds: 3_600 }));
    expect((await lenient.verifyCallback(stale.headers, stale.body)).outNo).toBe(no);
  });

  it('refuses an unknown Wechatpay-Serial', async () => {
    const no = await paidBill();
    const { headers, body } = sim.buildCallback(no, { serial: 'PUB_KEY_ID_SOMEONE_ELSE' });
    await expect(channel.verifyCallback(headers, body)).rejects.toThrow(/unknown Wechatpay-Serial/);
  });

  it('refuses a body re-serialised after signing (only the raw bytes verify)', async () => {
    const no = await paidBill();
    const { headers, body } = sim.buildCallback(no);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8')), null, 1), 'utf8');
    await expect(channel.verifyCallback(headers, reserialised)).rejects.toThrow(/bad signature/);
    // The untouched bytes still pass, so the refusal above is about the re-serialisation.
    expect((await channel.verifyCallback(headers, body)).outNo).toBe(no);
  });

  it('refuses missing headers and a notification for another merchant', async () => {
    const no = await paidBill();
    const { headers, body } = sim.buildCallback(no);
    const { 'wechatpay-signature': _dropped, ...unsigned } = headers;
    await expect(channel.verifyCallback(unsigned, body)).rejects.toThrow(CallbackRejected);
    const other = sim.buildCallback(no, { payload: { mch_id: '1999999999' } });
    await expect(channel.verifyCallback(other.headers, other.body)).rejects.toThrow(/another merchant/);
  });

  it('verifies against the public key given as a certificate-free PEM file path too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-keys-'));
    try {
      fs.writeFileSync(path.join(dir, 'pub_key.pem'), sim.platformPublicKeyPem);
      fs.writeFileSync(path.join(dir, 'apiclient_key.pem'), merchant.privateKeyPem);
      const fromFiles = createWechatPayChannel(
        config({
          merchantPrivateKey: path.join(dir, 'apiclient_key.pem'),
          platformPublicKeys: [{ serial: sim.platformPublicKeyId, publicKey: path.join(dir, 'pub_key.pem') }],
        }),
      );
      const no = outNo();
      expect((await fromFiles.submit(request(no))).outcome).toBe('succeeded');
      const { headers, body } = sim.buildCallback(no);
      expect((await fromFiles.verifyCallback(headers, body)).outcome).toBe('succeeded');
      // A bare base64 SPKI body works as well.
      const bare = createPublicKey(sim.platformPublicKeyPem).export({ type: 'spki', format: 'der' }).toString('base64');
      const fromBare = createWechatPayChannel(config({ platformPublicKeys: [{ serial: sim.platformPublicKeyId, publicKey: bare }] }));
      expect((await fromBare.verifyCallback(headers, body)).outcome).toBe('succeeded');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('payment notifications (支付成功通知) to the same merchant', () => {
  const tx = { outTradeNo: 'apo_01JQ00000000000000000000AB', transactionId: '4200002345202603011234567890', totalFen: 21_000 };

  it('verifies and decrypts a TRANSACTION.SUCCESS into the order number, the transaction id and the fen', async () => {
    const { headers, body } = sim.buildPaymentNotification(tx);
    expect(await channel.verifyPayment(headers, body)).toEqual({
      outTradeNo: tx.outTradeNo,
      transactionId: tx.transactionId,
      amountFen: 21_000,
      paid: true,
      state: 'SUCCESS',
    });
  });

  it('reports a trade_state other than SUCCESS as not paid, with no amount', async () => {
    const { headers, body } = sim.buildPaymentNotification({ ...tx, tradeState: 'PAYERROR' });
    expect(await channel.verifyPayment(headers, body)).toMatchObject({ outTradeNo: tx.outTradeNo, paid: false, amountFen: undefined, state: 'PAYERROR' });
  });

  it('keeps transfers and payments apart: neither verifies as the other', async () => {
    const no = outNo();
    await channel.submit(request(no));
    const transfer = sim.buildCallback(no);
    await expect(channel.verifyPayment(transfer.headers, transfer.body)).rejects.toThrow(/unsupported event_type MCHTRANSFER.BILL.FINISHED/);
    const payment = sim.buildPaymentNotification(tx);
    await expect(channel.verifyCallback(payment.headers, payment.body)).rejects.toThrow(/unsupported event_type TRANSACTION.SUCCESS/);
  });

  it('refuses a forged signature, a tampered ciphertext, another merchant, a malformed amount and another currency', async () => {
    const cases: [Parameters<WechatPaySimulator['buildPaymentNotification']>[1], RegExp][] = [
      [{ signWith: createPrivateKey(generateRsaKeyPair().privateKeyPem) }, /bad signature/],
      [{ tamperCiphertext: true }, /decrypt/],
      [{ payload: { mchid: '1999999999' } }, /another merchant/],
      [{ payload: { amount: { total: '210.00', currency: 'CNY' } } }, /amount.total/],
      [{ payload: { amount: { total: 21_000, currency: 'USD' } } }, /currency USD/],
      [{ payload: { transaction_id: '' } }, /transaction_id/],
    ];
    for (const [forgery, reason] of cases) {
      const { headers, body } = sim.buildPaymentNotification(tx, forgery);
      await expect(channel.verifyPayment(headers, body), String(reason)).rejects.toThrow(reason);
    }
  });
});
