import { createHmac, randomUUID } from 'node:crypto';
import type { SmsMessage, SmsSender, SmsTemplate } from './types.ts';

/**
 * Aliyun SMS (Dysmsapi 2017-05-25, SendSms) with the RPC signature (SignatureVersion 1.0,
 * HMAC-SHA1): the parameters sorted by name, each percent-encoded by RFC 3986 (space %20, `*`
 * %2A, `~` kept), joined as `k=v&…`; the string to sign is `<METHOD>&%2F&<that, encoded again>`;
 * the key is `<AccessKeySecret>&`; the signature is the base64 of the HMAC.
 */
export interface AliyunSmsOptions {
  accessKeyId: string;
  accessKeySecret: string;
  /** The approved signature (签名名称), e.g. 阿里云短信测试. */
  signName: string;
  /** The approved template (模板 CODE) of each message kind; its variables: ${code}, ${minutes}. */
  templates: Record<SmsTemplate, string>;
  endpoint?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** For tests: the nonce and the time a request is signed with. */
  nonce?: () => string;
  now?: () => Date;
}

export function aliyunPercentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonical query: the parameters sorted by name, encoded. */
export function aliyunCanonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${aliyunPercentEncode(k)}=${aliyunPercentEncode(params[k] ?? '')}`)
    .join('&');
}

export function aliyunStringToSign(method: 'GET' | 'POST', params: Record<string, string>): string {
  return `${method}&${aliyunPercentEncode('/')}&${aliyunPercentEncode(aliyunCanonicalQuery(params))}`;
}

export function aliyunSign(method: 'GET' | 'POST', params: Record<string, string>, accessKeySecret: string): string {
  return createHmac('sha1', `${accessKeySecret}&`).update(aliyunStringToSign(method, params)).digest('base64');
}

/** The signed SendSms request, as a form POST (the phone stays out of URLs and access logs). */
export function buildAliyunSendSms(
  options: AliyunSmsOptions,
  message: SmsMessage,
): { url: string; method: 'POST'; headers: Record<string, string>; body: string } {
  const params: Record<string, string> = {
    AccessKeyId: options.accessKeyId,
    Action: 'SendSms',
    Format: 'JSON',
    PhoneNumbers: message.to.replace(/^\+86/, ''),
    RegionId: 'cn-hangzhou',
    SignName: options.signName,
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: options.nonce?.() ?? randomUUID(),
    SignatureVersion: '1.0',
    TemplateCode: options.templates[message.template],
    TemplateParam: JSON.stringify({ code: message.params.code, minutes: String(message.params.minutes) }),
    Timestamp: (options.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    Version: '2017-05-25',
  };
  const signature = aliyunSign('POST', params, options.accessKeySecret);
  return {
    url: `${(options.endpoint ?? 'https://dysmsapi.aliyuncs.com').replace(/\/+$/, '')}/`,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `Signature=${aliyunPercentEncode(signature)}&${aliyunCanonicalQuery(params)}`,
  };
}

export function createAliyunSmsSender(options: AliyunSmsOptions): SmsSender {
  const doFetch = options.fetch ?? fetch;
  return {
    kind: 'aliyun',
    async send(message) {
      const req = buildAliyunSendSms(options, message);
      const res = await doFetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const answer = (await res.json().catch(() => null)) as { Code?: string; Message?: string } | null;
      // Aliyun answers 200 with Code "OK" when the message was accepted; anything else is a refusal.
      if (!res.ok || answer?.Code !== 'OK') throw new Error(`Aliyun SMS refused the message: ${answer?.Code ?? res.status} ${answer?.Message ?? ''}`.trim());
    },
  };
}
