import { useEffect, useRef, useState } from 'react';
import type { PortalOrder } from '../../../shared/types.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';
import { useWord } from './money.tsx';

/** The most order numbers GET /v1/me/orders takes at once. */
const BATCH = 50;

/**
 * The logistics of the orders of the commission lines on screen, by order number: asked for once
 * per number, a batch per page of lines. Orders the distributor earns nothing from never come back
 * (the server leaves them out), so they simply show no delivery line.
 */
export function useOrderLogistics(externalIds: readonly string[]): ReadonlyMap<string, PortalOrder> {
  const { api } = useSession();
  const [orders, setOrders] = useState<ReadonlyMap<string, PortalOrder>>(new Map());
  const asked = useRef(new Set<string>());
  const key = [...new Set(externalIds)].join('\n');
  useEffect(() => {
    const wanted = key.split('\n').filter((id) => id !== '' && !asked.current.has(id));
    for (let i = 0; i < wanted.length; i += BATCH) {
      const batch = wanted.slice(i, i + BATCH);
      for (const id of batch) asked.current.add(id);
      api.get<{ items: PortalOrder[] }>('/v1/me/orders', { external_id: batch }).then(
        (page) =>
          setOrders((prev) => {
            const next = new Map(prev);
            for (const o of page.items) next.set(o.external_id, o);
            return next;
          }),
        // Delivery is extra to the line: without it the line still shows; a later page asks again.
        () => {
          for (const id of batch) asked.current.delete(id);
        },
      );
    }
  }, [api, key]);
  return orders;
}

/** "已发货 · 圆通速递 YT7000001": the state, and the carrier and tracking number when the order has one. */
export function LogisticsText({ order, testId }: { order: PortalOrder; testId?: string }) {
  const { t } = useI18n();
  const word = useWord();
  const state = t(`logistics.${order.logistics}`);
  return (
    <span data-testid={testId} data-logistics={order.logistics}>
      {order.tracking_number
        ? t('logistics.line', { state, carrier: order.tracking_carrier ? word('carrier', order.tracking_carrier) : '', number: order.tracking_number })
        : state}
    </span>
  );
}
