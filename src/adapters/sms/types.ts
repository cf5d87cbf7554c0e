/**
 * Text messages to a phone: one-time codes that prove an applicant holds the phone it names
 * (the portal's application form, and the merchant's own forms through POST /v1/phone-verifications).
 */
export type SmsTemplate = 'portal_apply_code' | 'phone_verification_code';

export interface SmsMessage {
  /** The tenant the message is sent for: the simulator shows a tenant its own messages only. */
  tenant_id: string;
  /** The phone number, as normalised by the caller (digits, maybe a leading +). */
  to: string;
  /** What the message is for; a provider's template is chosen by it (FENXIAO_SMS_*_TEMPLATE). */
  template: SmsTemplate;
  /** The template's parameters: the code, the merchant's name, the minutes the code lives. */
  params: { code: string; merchant: string; minutes: number };
  /** The message in words (Chinese), for gateways that send free text. */
  text: string;
}

/** The port every SMS provider implements: send one message, or throw (the caller answers 503). */
export interface SmsSender {
  /**
   * `simulator` (development and tests: nothing leaves the process, messages are kept and readable),
   * `webhook` (a gateway the operator runs), `aliyun` (Dysmsapi SendSms) or `tencent` (SMS SendSms).
   */
  readonly kind: 'simulator' | 'webhook' | 'aliyun' | 'tencent';
  send(message: SmsMessage): Promise<void>;
}
