import { Tag } from 'antd';
import type { DistributorStatus } from '../../../shared/types.ts';
import { useI18n } from '../i18n.ts';

// Keyed by string so a status the server adds later (e.g. erased) still shows, in grey.
const COLORS: Record<string, string> = { active: 'green', pending: 'gold', suspended: 'volcano', rejected: 'default', erased: 'default' };

export function StatusTag({ status }: { status: DistributorStatus }) {
  const { t } = useI18n();
  return <Tag color={COLORS[status] ?? 'default'}>{t(`status.${status}`)}</Tag>;
}
