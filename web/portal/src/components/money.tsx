import { useCallback, useState } from 'react';
import { Grid, Tag } from 'antd-mobile';
import { formatYuan } from '../../../shared/format.ts';
import type { Query } from '../../../shared/api.ts';
import type { Page } from '../../../shared/types.ts';
import { useI18n } from '../i18n.ts';
import type { MessageKey } from '../messages.ts';
import { useSession } from '../session.tsx';
import { messageOf } from '../errors.ts';

/** Fen as yuan; negative (a clawback, a debt) in red and with its minus sign, never hidden. */
export function Money({ fen, size, testId, strong }: { fen: number; size?: number; testId?: string; strong?: boolean }) {
  return (
    <span
      data-testid={testId}
      data-fen={fen}
      style={{
        color: fen < 0 ? '#c41d1d' : strong ? '#1a1a1a' : undefined,
        fontSize: size,
        fontWeight: strong ? 600 : undefined,
        fontVariantNumeric: 'tabular-nums',
        whiteSpace: 'nowrap',
      }}
    >
      {formatYuan(fen)}
    </span>
  );
}

/** A word of the server's (status, channel) in the reader's language, or as it came. */
export function useWord() {
  const { t } = useI18n();
  return (prefix: string, value: string) => {
    const key = `${prefix}.${value}` as MessageKey;
    const label = t(key);
    return label === key ? value : label;
  };
}

type TagColor = 'default' | 'primary' | 'success' | 'warning' | 'danger';
const COLORS: Record<string, TagColor> = {
  'commissionStatus.pending': 'warning',
  'commissionStatus.available': 'primary',
  'commissionStatus.settled': 'success',
  'commissionStatus.reversed': 'default',
  'statementStatus.pending_review': 'warning',
  'statementStatus.approved': 'success',
  'statementStatus.rejected': 'danger',
  'withdrawalStatus.pending_review': 'warning',
  'withdrawalStatus.approved': 'primary',
  'withdrawalStatus.paid': 'success',
  'withdrawalStatus.failed': 'danger',
  'withdrawalStatus.rejected': 'danger',
};

export function StatusTag({ prefix, value }: { prefix: 'commissionStatus' | 'statementStatus' | 'withdrawalStatus'; value: string }) {
  const word = useWord();
  return (
    <Tag color={COLORS[`${prefix}.${value}`] ?? 'default'} fill="outline">
      {word(prefix, value)}
    </Tag>
  );
}

/** A keyset-paged list for InfiniteScroll. */
export function usePagedList<T>(path: string, query: Query = {}) {
  const { api } = useSession();
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(query);
  const loadMore = useCallback(async () => {
    try {
      const page = await api.get<Page<T>>(path, { ...(JSON.parse(key) as Query), limit: 20, cursor });
      setItems((prev) => [...prev, ...page.items]);
      setCursor(page.next_cursor);
      setHasMore(page.next_cursor !== null);
    } catch (err) {
      setError(messageOf(err));
      setHasMore(false);
    }
  }, [api, path, key, cursor]);
  return { items, hasMore, error, loadMore };
}

/** One figure of a grid of figures: its label above, its value (a count, a Money) below. */
export function figureCell(label: string, content: React.ReactNode, testId: string) {
  return (
    <Grid.Item>
      <div style={{ color: '#666', fontSize: 13 }}>{label}</div>
      <div style={{ fontSize: 17, marginTop: 2 }} data-testid={testId}>
        {content}
      </div>
    </Grid.Item>
  );
}
