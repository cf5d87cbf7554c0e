import { describe, expect, it } from 'vitest';
import { aliyunSign, aliyunStringToSign, buildAliyunSendSms, createAliyunSmsSender } from './aliyun.ts';
import { buildTencentSendSms, createTencentSmsSender, tc3Authorization } from './tencent.ts';
import { createSmsSimulator } from './simulator.ts';
import type { SmsMessage } from './types.ts';

const message: SmsMessage = {
  tenant_id: 'tn_1',
  to: '13800138000',
  template: 'phone_verification_code',
  params: { code: '042917', merchant: '好物', minutes: 10 },
  text: '【好物】验证码 042917',
};
const templates = { portal_apply_code: 'SMS_1', phone_verification_code: 'SMS_2' };

/** A fetch that records the request and answers `answer`: no network in tests. */
function recordingFetch(answer: unknown, status = 200) {
  const seen: { url: string; init: RequestInit }[] = [];
  const f = (async (url: string, init: RequestInit) => {
    seen.push({ url, init });
    return new Response(JSON.stringify(answer), { status, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;
  return { f, seen };
}

describe('Aliyun SMS signature (RPC, HMAC-SHA1)', () => {
  it("matches the SendSms example of Aliyun's SMS documentation", () => {
    const params = {
      AccessKeyId: 'testId',
      Action: 'SendSms',
      Format: 'XML',
      OutId: '123',
      PhoneNumbers: '15300000001',
      RegionId: 'cn-hangzhou',
      SignName: '阿里云短信测试专用',
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: '45e25e9b-0a6f-4070-8c85-2956eda1b466',
      SignatureVersion: '1.0',
      TemplateCode: 'SMS_71390007',
      TemplateParam: '{"customer":"test"}',
      Timestamp: '2017-07-12T02:42:19Z',
      Version: '2017-05-25',
    };
    expect(aliyunSign('GET', params, 'testSecret')).toBe('zJDF+Lrzhj/ThnlvIToysFRq6t4=');
  });

  it("matches the DescribeRegions example of Aliyun's signature documentation (the colon encoded twice)", () => {
    const params = {
      AccessKeyId: 'testid',
      Action: 'DescribeRegions',
      Format: 'XML',
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
      SignatureVersion: '1.0',
      Timestamp: '2016-02-23T12:46:24Z',
      Version: '2014-05-26',
    };
    expect(aliyunStringToSign('GET', params)).toBe(
      'GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1' +
        '%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26',
    );
    expect(aliyunSign('GET', params, 'testsecret')).toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
  });

  it('builds a POST whose signature covers every parameter it carries', () => {
    const options = {
      accessKeyId: 'LTAI-test',
      accessKeySecret: 's3cret',
      signName: '好物商城',
      templates,
      nonce: () => 'n-1',
      now: () => new Date('2026-03-01T08:00:00.123Z'),
    };
    const req = buildAliyunSendSms(options, { ...message, to: '+8613800138000' });
    expect(req.url).toBe('https://dysmsapi.aliyuncs.com/');
    const form = new URLSearchParams(req.body);
    const params = Object.fromEntries([...form.entries()].filter(([k]) => k !== 'Signature'));
    expect(params).toMatchObject({
      Action: 'SendSms',
      PhoneNumbers: '13800138000',
      SignName: '好物商城',
      TemplateCode: 'SMS_2',
      Timestamp: '2026-03-01T08:00:00Z',
    });
    expect(JSON.parse(params.TemplateParam ?? '')).toEqual({ code: '042917', minutes: '10' });
    expect(form.get('Signature')).toBe(aliyunSign('POST', params, 's3cret'));
    // The same request signed under another secret is another signature: the secret is in it.
    expect(form.get('Signature')).not.toBe(aliyunSign('POST', params, 'other'));
  });

  it('sends, and takes anything but Code OK as a refusal', async () => {
    const ok = recordingFetch({ Code: 'OK', BizId: '9006197469364984^0' });
    await createAliyunSmsSender({ accessKeyId: 'a', accessKeySecret: 'b', signName: 's', templates, fetch: ok.f }).send(message);
    expect(ok.seen).toHaveLength(1);
    expect(ok.seen[0]?.init.method).toBe('POST');
    const refused = recordingFetch({ Code: 'isv.BUSINESS_LIMIT_CONTROL', Message: '触发分钟级流控' });
    await expect(createAliyunSmsSender({ accessKeyId: 'a', accessKeySecret: 'b', signName: 's', templates, fetch: refused.f }).send(message)).rejects.toThrow(
      /BUSINESS_LIMIT_CONTROL/,
    );
  });
});

describe('Tencent Cloud SMS signature (TC3-HMAC-SHA256)', () => {
  it("matches the example of Tencent Cloud's signature v3 documentation", () => {
    const out = tc3Authorization({
      secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******',
      secretKey: 'Gu5t9xGARNpq86cd98joQYCN3*******',
      service: 'cvm',
      host: 'cvm.tencentcloudapi.com',
      timestamp: 1551113065,
      payload: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
    });
    expect(out.stringToSign).toBe('TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031');
    expect(out.authorization).toBe(
      'TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, ' +
        'Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c',
    );
  });

  it('builds SendSms with the headers and body Tencent expects, signed over that body', () => {
    const options = {
      secretId: 'AKID-test',
      secretKey: 'key',
      sdkAppId: '1400006666',
      signName: '好物商城',
      templates,
      now: () => new Date('2026-03-01T08:00:00Z'),
    };
    const req = buildTencentSendSms(options, message);
    expect(req.headers).toMatchObject({
      'x-tc-action': 'SendSms',
      'x-tc-version': '2021-01-11',
      'x-tc-region': 'ap-guangzhou',
      'x-tc-timestamp': '1772352000',
    });
    expect(JSON.parse(req.body)).toEqual({
      PhoneNumberSet: ['+8613800138000'],
      SmsSdkAppId: '1400006666',
      SignName: '好物商城',
      TemplateId: 'SMS_2',
      TemplateParamSet: ['042917', '10'],
    });
    const expected = tc3Authorization({
      secretId: 'AKID-test',
      secretKey: 'key',
      service: 'sms',
      host: 'sms.tencentcloudapi.com',
      timestamp: 1772352000,
      payload: req.body,
    });
    expect(req.headers.authorization).toBe(expected.authorization);
    expect(req.headers.authorization).toContain('/2026-03-01/sms/tc3_request');
  });

  it('takes an API error or a refused message as a failure', async () => {
    const base = { secretId: 'a', secretKey: 'b', sdkAppId: '1', signName: 's', templates };
    const ok = recordingFetch({ Response: { SendStatusSet: [{ Code: 'Ok', Message: 'send success' }], RequestId: 'r' } });
    await createTencentSmsSender({ ...base, fetch: ok.f }).send(message);
    expect(ok.seen).toHaveLength(1);
    const apiError = recordingFetch({ Response: { Error: { Code: 'AuthFailure.SignatureFailure', Message: 'bad' }, RequestId: 'r' } });
    await expect(createTencentSmsSender({ ...base, fetch: apiError.f }).send(message)).rejects.toThrow(/SignatureFailure/);
    const refused = recordingFetch({ Response: { SendStatusSet: [{ Code: 'LimitExceeded.PhoneNumberDailyLimit', Message: 'limit' }], RequestId: 'r' } });
    await expect(createTencentSmsSender({ ...base, fetch: refused.f }).send(message)).rejects.toThrow(/PhoneNumberDailyLimit/);
  });
});

describe('the SMS simulator', () => {
  it('keeps each message for its own tenant, newest first, and logs no code', async () => {
    const logged: unknown[] = [];
    const sim = createSmsSimulator({ log: (e) => logged.push(e), now: () => new Date('2026-03-01T08:00:00Z') });
    await sim.send(message);
    await sim.send({ ...message, params: { ...message.params, code: '111111' } });
    await sim.send({ ...message, tenant_id: 'tn_2' });
    expect(sim.messages('tn_1').map((m) => m.params.code)).toEqual(['111111', '042917']);
    expect(sim.messages('tn_1', '13900000000')).toEqual([]);
    expect(sim.messages('tn_2')).toHaveLength(1);
    expect(JSON.stringify(logged)).not.toContain('042917');
    expect(JSON.stringify(logged)).toContain('138****8000');
  });
});
