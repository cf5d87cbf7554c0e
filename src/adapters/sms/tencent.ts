import { createHash, createHmac } from 'node:crypto';
import type { SmsMessage, SmsSender, SmsTemplate } from './types.ts';

/**
 * Tencent Cloud SMS (sms.tencentcloudapi.com, SendSms 2021-01-11) signed with TC3-HMAC-SHA256:
 * a canonical request (method, `/`, empty query, the content-type and host headers, the body's
 * SHA-256), a string to sign (algorithm, timestamp, `<UTC date>/<service>/tc3_request`, the
 * request's SHA-256) and a key derived `TC3<SecretKey>` → date → service → `tc3_request`.
 */
export interface TencentSmsOptions {
  secretId: string;
  secretKey: string;
  /** The SMS application (SmsSdkAppId), e.g. 1400006666. */
  sdkAppId: string;
  signName: string;
  /** The approved template id of each message kind; its parameters: {1} the code, {2} the minutes. */
  templates: Record<SmsTemplate, string>;
  region?: string;
  endpoint?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s, 'utf8').digest();

export interface Tc3Input {
  secretId: string;
  secretKey: string;
  service: string;
  host: string;
  /** Unix seconds. */
  timestamp: number;
  payload: string;
  contentType?: string;
}

/** The Authorization header of a TC3-HMAC-SHA256 POST to `/`. */
export function tc3Authorization(input: Tc3Input): { authorization: string; signature: string; canonicalRequest: string; stringToSign: string } {
  const contentType = input.contentType ?? 'application/json; charset=utf-8';
  const date = new Date(input.timestamp * 1000).toISOString().slice(0, 10);
  const canonicalRequest = ['POST', '/', '', `content-type:${contentType}\nhost:${input.host}\n`, 'content-type;host', sha256Hex(input.payload)].join('\n');
  const scope = `${date}/${input.service}/tc3_request`;
  const stringToSign = ['TC3-HMAC-SHA256', String(input.timestamp), scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(`TC3${input.secretKey}`, date), input.service), 'tc3_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return {
    authorization: `TC3-HMAC-SHA256 Credential=${input.secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
    signature,
    canonicalRequest,
    stringToSign,
  };
}

/** A phone in E.164: a Chinese mobile without a country code gets +86. */
function e164(phone: string): string {
  return phone.startsWith('+') ? phone : `+86${phone}`;
}

export function buildTencentSendSms(
  options: TencentSmsOptions,
  message: SmsMessage,
): { url: string; method: 'POST'; headers: Record<string, string>; body: string } {
  const endpoint = options.endpoint ?? 'https://sms.tencentcloudapi.com';
  const host = new URL(endpoint).host;
  const body = JSON.stringify({
    PhoneNumberSet: [e164(message.to)],
    SmsSdkAppId: options.sdkAppId,
    SignName: options.signName,
    TemplateId: options.templates[message.template],
    TemplateParamSet: [message.params.code, String(message.params.minutes)],
  });
  const timestamp = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  const { authorization } = tc3Authorization({ secretId: options.secretId, secretKey: options.secretKey, service: 'sms', host, timestamp, payload: body });
  return {
    url: `${endpoint.replace(/\/+$/, '')}/`,
    method: 'POST',
    headers: {
      authorization,
      'content-type': 'application/json; charset=utf-8',
      host,
      'x-tc-action': 'SendSms',
      'x-tc-version': '2021-01-11',
      'x-tc-region': options.region ?? 'ap-guangzhou',
      'x-tc-timestamp': String(timestamp),
    },
    body,
  };
}

export function createTencentSmsSender(options: TencentSmsOptions): SmsSender {
  const doFetch = options.fetch ?? fetch;
  return {
    kind: 'tencent',
    async send(message) {
      const req = buildTencentSendSms(options, message);
      const { host: _host, ...headers } = req.headers;
      const res = await doFetch(req.url, { method: req.method, headers, body: req.body, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
      const answer = (await res.json().catch(() => null)) as {
        Response?: { Error?: { Code: string; Message: string }; SendStatusSet?: { Code: string; Message: string }[] };
      } | null;
      const error = answer?.Response?.Error;
      if (!res.ok || error) throw new Error(`Tencent Cloud SMS refused the request: ${error?.Code ?? res.status} ${error?.Message ?? ''}`.trim());
      const status = answer?.Response?.SendStatusSet?.[0];
      // The request can succeed while the one message it carries is refused (a bad number, a limit).
      if (status?.Code !== 'Ok') throw new Error(`Tencent Cloud SMS refused the message: ${status?.Code ?? 'no status'} ${status?.Message ?? ''}`.trim());
    },
  };
}
