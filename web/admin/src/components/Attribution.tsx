import { Typography } from 'antd';
import { useI18n } from '../i18n.ts';
import type { MessageKey } from '../messages.ts';

const KNOWN = ['binding', 'invite_code', 'first_order', 'self_purchase', 'none'] as const;

/**
 * An order's attribution (`binding`, `invite_code (unknown invite_code)`…, as the order path
 * records it) said as a sentence in the reader's language, the server's notes after it, and the
 * code itself kept for support (issue 16, item 9).
 */
export function Attribution({ value }: { value: string }) {
  const { t } = useI18n();
  const match = /^([a-z_]+)(?: \((.*)\))?$/s.exec(value);
  const how = match?.[1] ?? value;
  const notes = match?.[2];
  const sentence = (KNOWN as readonly string[]).includes(how) ? t(`attribution.${how}` as MessageKey) : t('attribution.unknown', { how });
  return (
    <span data-testid="attribution" data-attribution={how}>
      {sentence}
      {notes && (
        <Typography.Text type="secondary" style={{ display: 'block' }}>
          {t('attribution.notes', { notes })}
        </Typography.Text>
      )}
    </span>
  );
}
