import { Table, Typography } from 'antd';
import { useI18n } from '../i18n.ts';

type Flat = Map<string, string>;

/** `{a:{b:1}}` → `a.b = 1`; arrays and scalars are leaves, shown as JSON text. */
export function flatten(value: unknown, prefix = '', out: Flat = new Map()): Flat {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, '{}');
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix || value !== null) {
    out.set(prefix || '(value)', JSON.stringify(value));
  }
  return out;
}

export function diffRows(before: unknown, after: unknown) {
  const b = flatten(before);
  const a = flatten(after);
  const keys = [...new Set([...b.keys(), ...a.keys()])].sort();
  return keys.filter((k) => b.get(k) !== a.get(k)).map((k) => ({ key: k, field: k, before: b.get(k) ?? '—', after: a.get(k) ?? '—' }));
}

/** The fields an audited change touched, before and after. Values render as text. */
export function JsonDiff({ before, after }: { before: unknown; after: unknown }) {
  const { t } = useI18n();
  const rows = diffRows(before, after);
  if (rows.length === 0) return <Typography.Text type="secondary">{t('audit.noChanges')}</Typography.Text>;
  return (
    <Table
      size="small"
      pagination={false}
      rowKey="key"
      dataSource={rows}
      data-testid="audit-diff"
      columns={[
        { title: t('audit.field'), dataIndex: 'field', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
        {
          title: t('audit.before'),
          dataIndex: 'before',
          render: (v: string) => (
            <Typography.Text delete type="danger">
              {v}
            </Typography.Text>
          ),
        },
        { title: t('audit.after'), dataIndex: 'after', render: (v: string) => <Typography.Text type="success">{v}</Typography.Text> },
      ]}
    />
  );
}
