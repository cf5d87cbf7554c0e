/**
 * Text messages to a phone: the portal's application sends a verification code, so an
 * application proves it holds the phone it names before anything is created for it.
 */
export interface SmsMessage {
  /** The phone number, as the applicant typed it (digits, maybe a leading +). */
  to: string;
  /** What the message is for; a gateway may pick its provider template by it. */
  template: 'portal_apply_code';
  /** The template's parameters: the code and the merchant's name. */
  params: { code: string; merchant: string };
  /** The message in words (Chinese), for gateways that send free text. */
  text: string;
}

export interface SmsSender {
  /** `webhook` (a gateway the operator runs) or `log` (development: the message goes to the log). */
  readonly kind: 'webhook' | 'log' | 'memory';
  send(message: SmsMessage): Promise<void>;
}
