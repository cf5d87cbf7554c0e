import { EventCommand, OrderCommand } from '../schema.ts';
import { validator } from '../validate.ts';
import { isObject, MappingError, type Mapped } from './types.ts';

const checkOrder = validator(OrderCommand, 'body');
const checkEvent = validator(EventCommand, 'body');

/**
 * Fenxiao's own format: `{"type":"order","body":<POST /v1/orders body>}` or
 * `{"type":"event","order_external_id":…,"body":<event body>,"idempotency_key"?:…}`, checked by
 * the very schemas of those routes.
 */
export function mapGeneric(payload: unknown): Mapped {
  if (!isObject(payload)) throw new MappingError({ en: 'body must be a JSON object', zh: '请求体须为 JSON 对象' });
  switch (payload.type) {
    case 'order': {
      const c = checkOrder(payload);
      return { topic: 'order', orderExternalId: c.body.external_id, intents: [{ kind: 'order', body: c.body }] };
    }
    case 'event': {
      const c = checkEvent(payload);
      return {
        topic: `event:${c.body.type}`,
        orderExternalId: c.order_external_id,
        intents: [{ kind: 'event', orderExternalId: c.order_external_id, body: c.body, idempotencyKey: c.idempotency_key, unknownOrder: 'error' }],
      };
    }
    default:
      throw new MappingError({ en: 'body/type must be "order" or "event"', zh: 'body/type 须为 "order" 或 "event"' });
  }
}
