import { Tag } from 'antd';
import type { DistributorStatus } from '../../../shared/types.ts';
import { useI18n } from '../i18n.ts';

const COLORS: Record<DistributorStatus, string> = { active: 'green', pending: 'gold', suspended: 'volcano', rejected: 'default' };

export function StatusTag({ status }: { status: DistributorStatus }) {
  const { t } = useI18n();
  return <Tag color={COLORS[status]}>{t(`status.${status}`)}</Tag>;
}
