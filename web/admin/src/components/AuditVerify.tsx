import { useState } from 'react';
import { Alert, Button, Card, Input, Space, Table, Typography } from 'antd';
import type { AuditVerification } from '../../../shared/types.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { messageOf } from './errors.ts';

const ANCHOR = /^[0-9]{1,15}:[0-9a-f]{64}$/;

/**
 * GET /v1/audit-log/verify: walks the tenant's audit hash chain, with the heads the operator
 * kept from an earlier check as anchors (a rewritten chain no longer contains them), and shows
 * the current heads to keep for next time.
 */
export function AuditVerify() {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [anchors, setAnchors] = useState('');
  const [result, setResult] = useState<AuditVerification | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run() {
    const lines = anchors
      .split(/\s+/)
      .map((l) => l.trim().toLowerCase())
      .filter(Boolean);
    if (lines.some((l) => !ANCHOR.test(l))) {
      setError(t('auditVerify.badAnchor'));
      return;
    }
    const query = new URLSearchParams();
    for (const a of lines) query.append('anchor', a);
    setBusy(true);
    setError(null);
    try {
      const qs = query.toString();
      setResult(await api.get<AuditVerification>(`/v1/audit-log/verify${qs ? `?${qs}` : ''}`));
    } catch (err) {
      setResult(null);
      setError(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('auditVerify.title')} size="small" data-testid="audit-verify">
      <Space direction="vertical" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('auditVerify.intro')}</Typography.Text>
        <Input.TextArea
          aria-label={t('auditVerify.anchors')}
          placeholder={t('auditVerify.anchors')}
          rows={2}
          value={anchors}
          onChange={(e) => setAnchors(e.target.value)}
          style={{ fontFamily: 'monospace' }}
        />
        <Button type="primary" loading={busy} onClick={() => void run()} style={{ alignSelf: 'flex-start' }}>
          {t('auditVerify.run')}
        </Button>
        {error && <Alert type="error" showIcon title={error} />}
        {result && (
          <>
            <Alert
              data-testid="audit-verify-result"
              type={result.ok ? 'success' : 'error'}
              showIcon
              title={
                result.ok ? t('auditVerify.ok', { entries: result.entries }) : t('auditVerify.broken', { count: result.breaks.length, entries: result.entries })
              }
            />
            {result.breaks.length > 0 && (
              <Table
                rowKey={(b) => `${b.chain}:${b.seq ?? ''}:${b.problem}`}
                size="small"
                pagination={false}
                dataSource={result.breaks}
                data-testid="audit-verify-breaks"
                columns={[
                  { title: t('auditVerify.chain'), dataIndex: 'chain' },
                  { title: t('auditVerify.seq'), dataIndex: 'seq', render: (v: number | null) => v ?? '—' },
                  { title: t('auditVerify.problem'), dataIndex: 'problem' },
                ]}
              />
            )}
            <Typography.Text strong>{t('auditVerify.heads')}</Typography.Text>
            {result.heads.map((h) => (
              <Typography.Text key={h.chain} code copyable data-testid="audit-verify-head" style={{ wordBreak: 'break-all' }}>
                {`${h.seq}:${h.hash}`}
              </Typography.Text>
            ))}
          </>
        )}
      </Space>
    </Card>
  );
}
