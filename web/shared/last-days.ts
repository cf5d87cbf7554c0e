import { useEffect, useRef, useState } from 'react';
import { shiftDay } from './format.ts';

/**
 * Figures over the last `days` days, ending on the server's today: the first load asks without a
 * range (the server answers its default, ending today in the program's time zone, as `range.to`),
 * every later one from that day back. Loads again when `days` or `key` (what else the figures
 * depend on: an agent, a reload counter) changes; a late answer to an earlier load is dropped.
 * The console and the portal both use it.
 */
export function useLastDays<T extends { range: { to: string } }>(
  load: (query: { from: string; to: string } | undefined) => Promise<T>,
  days: number,
  key: string,
  messageOf: (err: unknown) => string,
): { data: T | null; error: string | null } {
  const [today, setToday] = useState<string | null>(null);
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const latest = useRef({ load, messageOf });
  latest.current = { load, messageOf };
  useEffect(() => {
    let live = true;
    const query = today ? { from: shiftDay(today, -(days - 1)), to: today } : undefined;
    latest.current.load(query).then(
      (r) => {
        if (!live) return;
        setData(r);
        setError(null);
        if (!today) setToday(r.range.to);
      },
      (err: unknown) => {
        if (live) setError(latest.current.messageOf(err));
      },
    );
    return () => {
      live = false;
    };
  }, [days, today, key]);
  return { data, error };
}
