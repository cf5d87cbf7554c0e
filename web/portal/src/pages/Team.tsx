import { useCallback, useEffect, useState } from 'react';
import { ErrorBlock, InfiniteScroll, List, Tabs, Tag } from 'antd-mobile';
import type { Page, PortalTeamMember, TeamCounts } from '../../../shared/types.ts';
import { messageOf } from '../errors.ts';
import { useI18n, useWording } from '../i18n.ts';
import { useSession } from '../session.tsx';

type Level = 1 | 2 | 3;

function LevelList({ level }: { level: Level }) {
  const { t, lang } = useI18n();
  const { api } = useSession();
  const [items, setItems] = useState<PortalTeamMember[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(true);
  const [error, setError] = useState<string | null>(null);

  const loadMore = useCallback(async () => {
    try {
      const page = await api.get<Page<PortalTeamMember>>('/v1/me/downline', { level, limit: 20, cursor });
      setItems((prev) => [...prev, ...page.items]);
      setCursor(page.next_cursor);
      setHasMore(page.next_cursor !== null);
    } catch (err) {
      setError(messageOf(err));
      setHasMore(false);
    }
  }, [api, level, cursor]);

  if (error) return <ErrorBlock status="default" title={t('common.error', { message: error })} />;
  return (
    <>
      <List data-testid={`team-level-${level}`}>
        {items.map((m) => (
          <List.Item
            key={m.id}
            description={t('team.joined', { date: new Date(m.joined_at).toLocaleDateString(lang === 'en' ? 'en-GB' : 'zh-CN') })}
            extra={<Tag fill="outline">{m.grade_name}</Tag>}
          >
            <span data-testid="member-name">{m.name}</span>
          </List.Item>
        ))}
      </List>
      <InfiniteScroll loadMore={loadMore} hasMore={hasMore}>
        {hasMore ? t('common.loading') : items.length === 0 ? t('team.empty') : t('team.noMore')}
      </InfiniteScroll>
    </>
  );
}

export function TeamPage() {
  const { t } = useI18n();
  const { safe } = useWording();
  const { api } = useSession();
  const [counts, setCounts] = useState<TeamCounts | null>(null);
  useEffect(() => {
    api.get<TeamCounts>('/v1/me/team').then(setCounts, () => setCounts(null));
  }, [api]);
  const n = (v: number | undefined) => (v === undefined ? '…' : v);
  // WeChat-safe: only whom the distributor referred itself; no levels beyond (WeChat forbids 多级分销).
  if (safe)
    return (
      <div>
        <h2 style={{ fontSize: 15, margin: '12px 16px' }}>{t('team.level1', { n: n(counts?.direct) })}</h2>
        <LevelList level={1} />
      </div>
    );
  return (
    <Tabs defaultActiveKey="1">
      <Tabs.Tab title={t('team.level1', { n: n(counts?.direct) })} key="1">
        <LevelList level={1} />
      </Tabs.Tab>
      <Tabs.Tab title={t('team.level2', { n: n(counts?.level2) })} key="2">
        <LevelList level={2} />
      </Tabs.Tab>
      <Tabs.Tab title={t('team.level3', { n: n(counts?.level3) })} key="3">
        <LevelList level={3} />
      </Tabs.Tab>
    </Tabs>
  );
}
