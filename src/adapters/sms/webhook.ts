import { createHmac } from 'node:crypto';
import type { SmsMessage, SmsSender } from './types.ts';

/**
 * Sends each message as a signed POST to a gateway the operator runs (FENXIAO_SMS_WEBHOOK_URL),
 * which hands it to the SMS provider of its choice (Aliyun, Tencent Cloud…) with its own
 * credentials and templates: Fenxiao holds no provider secrets. The body is the message as JSON;
 * `Fenxiao-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under
 * FENXIAO_SMS_WEBHOOK_SECRET, as outbound webhooks are signed. A 2xx answer means sent.
 */
export function createWebhookSmsSender(options: { url: string; secret: string; timeoutMs?: number; fetch?: typeof fetch }): SmsSender {
  const doFetch = options.fetch ?? fetch;
  return {
    kind: 'webhook',
    async send(message: SmsMessage) {
      const body = JSON.stringify(message);
      const t = Math.floor(Date.now() / 1000);
      const v1 = createHmac('sha256', options.secret).update(`${t}.${body}`).digest('hex');
      const res = await doFetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'fenxiao-signature': `t=${t},v1=${v1}` },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      if (!res.ok) throw new Error(`the SMS gateway answered ${res.status}`);
    },
  };
}
