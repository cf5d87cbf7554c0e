import type { SmsMessage, SmsSender } from './types.ts';

export interface SimulatedSms extends SmsMessage {
  /** Order of sending, from 1. */
  seq: number;
  sent_at: string;
}

export interface SmsSimulator extends SmsSender {
  readonly kind: 'simulator';
  /** Every message kept, oldest first (tests read it). */
  readonly outbox: SimulatedSms[];
  /** A tenant's messages, newest first, optionally to one phone: what GET /v1/dev/sms shows an operator. */
  messages(tenantId: string, to?: string): SimulatedSms[];
}

/**
 * The local SMS provider, the default when none is configured: nothing is sent; each message is
 * kept in memory (the last `keep`) and logged with the phone masked. Tests read its outbox; on a
 * development machine an operator reads the codes at GET /v1/dev/sms (the console's owner), so
 * the whole application flow runs without an SMS account. In production configure a provider
 * (FENXIAO_SMS_PROVIDER): with the simulator no applicant ever receives a code.
 */
export function createSmsSimulator(options: {
  log: (entry: Omit<SimulatedSms, 'to' | 'params' | 'text'> & { to: string }) => void;
  now?: () => Date;
  keep?: number;
}): SmsSimulator {
  const keep = options.keep ?? 500;
  const outbox: SimulatedSms[] = [];
  let seq = 0;
  return {
    kind: 'simulator',
    outbox,
    async send(message) {
      const kept: SimulatedSms = { ...message, seq: ++seq, sent_at: (options.now?.() ?? new Date()).toISOString() };
      outbox.push(kept);
      if (outbox.length > keep) outbox.shift();
      // The code never goes to the log: a log line travels further than this process.
      options.log({ tenant_id: kept.tenant_id, template: kept.template, seq: kept.seq, sent_at: kept.sent_at, to: maskPhone(kept.to) });
    },
    messages(tenantId, to) {
      return outbox.filter((m) => m.tenant_id === tenantId && (to === undefined || m.to === to)).reverse();
    },
  };
}

export function isSmsSimulator(sender: SmsSender): sender is SmsSimulator {
  return sender.kind === 'simulator';
}

function maskPhone(phone: string): string {
  return phone.length > 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****';
}
