import type { SmsMessage, SmsSender } from './types.ts';

/**
 * Development only, the default when no gateway is configured: each message goes to the server's
 * log (the phone masked), and the last few stay in memory for tests and the demo. In production
 * set FENXIAO_SMS_WEBHOOK_URL: with this sender nobody receives a code but the log's reader.
 */
export function createLogSmsSender(log: (message: Omit<SmsMessage, 'to'> & { to: string }) => void, keep = 100): SmsSender & { outbox: SmsMessage[] } {
  const outbox: SmsMessage[] = [];
  return {
    kind: 'log',
    outbox,
    async send(message) {
      outbox.push(message);
      if (outbox.length > keep) outbox.shift();
      log({ ...message, to: maskPhone(message.to) });
    },
  };
}

function maskPhone(phone: string): string {
  return phone.length > 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****';
}
