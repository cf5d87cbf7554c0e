import { createAliyunSmsSender, type AliyunSmsOptions } from './aliyun.ts';
import { createSmsSimulator, type SimulatedSms } from './simulator.ts';
import { createTencentSmsSender, type TencentSmsOptions } from './tencent.ts';
import type { SmsSender } from './types.ts';
import { createWebhookSmsSender } from './webhook.ts';

/** Which SMS provider a deployment sends through (FENXIAO_SMS_PROVIDER; docs/configuration.md lists the variables). */
export type SmsConfig =
  | { provider: 'simulator' }
  | { provider: 'webhook'; url: string; secret: string }
  | ({ provider: 'aliyun' } & Pick<AliyunSmsOptions, 'accessKeyId' | 'accessKeySecret' | 'signName' | 'templates' | 'endpoint'>)
  | ({ provider: 'tencent' } & Pick<TencentSmsOptions, 'secretId' | 'secretKey' | 'sdkAppId' | 'signName' | 'templates' | 'region' | 'endpoint'>);

/** The configured provider; the simulator logs through `log` (the server's logger). */
export function createSmsSender(config: SmsConfig, deps: { log: (entry: Partial<SimulatedSms>) => void; now?: () => Date }): SmsSender {
  switch (config.provider) {
    case 'simulator':
      return createSmsSimulator({ log: deps.log, ...(deps.now ? { now: deps.now } : {}) });
    case 'webhook':
      return createWebhookSmsSender({ url: config.url, secret: config.secret });
    case 'aliyun':
      return createAliyunSmsSender(config);
    case 'tencent':
      return createTencentSmsSender(config);
    default: {
      const never: never = config;
      return never;
    }
  }
}
