import type { LightMyRequestResponse } from 'fastify';
import type { SmsMessage } from '../../src/adapters/sms/types.ts';
import type { TestServer } from './server.ts';
import type { JsonBody } from './json.ts';

/** The texts the server "sent" (the log sender's outbox: no gateway is configured in tests). */
export function sentTexts(t: Pick<TestServer, 'services'>): SmsMessage[] {
  const outbox = (t.services.sms as { outbox?: SmsMessage[] }).outbox;
  if (!outbox) throw new Error('the test server has no SMS outbox (a gateway is configured)');
  return outbox;
}

/** The last code texted to a phone. */
export function lastCode(t: Pick<TestServer, 'services'>, phone: string): string | undefined {
  const to = phone.replace(/[\s-]/g, '');
  return sentTexts(t)
    .filter((m) => m.to === to)
    .at(-1)?.params.code;
}

type Inject = (opts: {
  method: 'POST';
  url: string;
  payload: string;
  headers: Record<string, string>;
  remoteAddress?: string;
}) => Promise<LightMyRequestResponse>;

/**
 * The portal's application in both steps: the form (202, a code texted), then the code. Answers
 * the second step's response (201 with a session), or the first's when it was refused.
 */
export async function applyInPortal(
  t: TestServer,
  body: Record<string, unknown>,
  opts: { ip?: string } = {},
): Promise<LightMyRequestResponse & { data: JsonBody }> {
  const inject = t.app.inject.bind(t.app) as unknown as Inject;
  const post = async (url: string, payload: unknown) => {
    const res = await inject({
      method: 'POST',
      url,
      payload: JSON.stringify(payload),
      headers: { 'content-type': 'application/json' },
      ...(opts.ip ? { remoteAddress: opts.ip } : {}),
    });
    let data: unknown;
    try {
      data = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      data = res.body;
    }
    return Object.assign(res, { data });
  };
  const started = await post('/v1/portal/apply', body);
  if (started.statusCode !== 202) return started;
  const code = lastCode(t, String(body.phone));
  return post('/v1/portal/apply/verify', { tenant_id: body.tenant_id, verification_id: (started.data as { verification_id: string }).verification_id, code });
}
