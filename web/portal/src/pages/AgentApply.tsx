import { useCallback, useEffect, useState } from 'react';
import { Button, Card, Form, Input, List, Selector, Space, Tag, TextArea, Toast } from 'antd-mobile';
import type { Page } from '../../../shared/types.ts';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';

type Rank = 'province' | 'city' | 'district';
interface Application {
  id: string;
  rank: Rank;
  region_code: string;
  region_full_name: string;
  status: 'pending' | 'approved' | 'rejected';
  reason: string | null;
  documents: { id: string; filename: string }[];
  created_at: string;
}

/**
 * For a distributor who is not an agent: its applications with their status (and a rejection's
 * reason), and a form to apply for a territory with documents. The documents are uploaded first
 * (stored encrypted, as an application's are), then named by id in the application.
 */
export function AgentApply({ onApproved }: { onApproved: () => void }) {
  const { t } = useI18n();
  const { api, session } = useSession();
  const [apps, setApps] = useState<Application[]>([]);
  const [rank, setRank] = useState<Rank>('district');
  const [code, setCode] = useState('');
  const [note, setNote] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    const page = await api.get<Page<Application>>('/v1/agent-applications');
    setApps(page.items);
    if (page.items.some((a) => a.status === 'approved')) onApproved();
  }, [api, onApproved]);
  useEffect(() => {
    load().catch(() => setApps([]));
  }, [load]);

  const open = apps.some((a) => a.status === 'pending');

  async function submit() {
    if (!session || !/^[0-9]{6}$/.test(code.trim())) return;
    setBusy(true);
    try {
      const ids: string[] = [];
      for (const f of files) {
        const doc = await api.upload<{ id: string }>('POST', `/v1/distributors/${session.distributor_id}/documents`, f, { kind: 'agent_application' });
        ids.push(doc.id);
      }
      await api.post(
        '/v1/agent-applications',
        { rank, region_code: code.trim(), note: note.trim(), document_ids: ids },
        { headers: { 'Idempotency-Key': `portal-apply-${Date.now()}-${Math.random().toString(36).slice(2)}` } },
      );
      Toast.show({ content: t('agent.applied') });
      setCode('');
      setNote('');
      setFiles([]);
      await load();
    } catch (err) {
      Toast.show({ content: t('common.error', { message: messageOf(err) }) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Space direction="vertical" block style={{ padding: 12 }}>
      {apps.length > 0 && (
        <Card title={t('agent.applications')}>
          <List data-testid="agent-applications">
            {apps.map((a) => (
              <List.Item
                key={a.id}
                description={a.status === 'rejected' && a.reason ? t('agent.rejectedReason', { reason: a.reason }) : undefined}
                extra={
                  <Tag color={a.status === 'approved' ? 'success' : a.status === 'rejected' ? 'danger' : 'warning'} data-testid="agent-application-status">
                    {t(`agent.app.${a.status}`)}
                  </Tag>
                }
              >
                {a.region_full_name} · {t(`agent.rank.${a.rank}`)}
              </List.Item>
            ))}
          </List>
        </Card>
      )}
      {!open && (
        <Card title={t('agent.apply')}>
          <p style={{ marginTop: 0, color: '#555' }}>{t('agent.applyHint')}</p>
          <Form layout="vertical">
            <Form.Item label={t('agent.rank')}>
              <Selector
                columns={3}
                value={[rank]}
                onChange={(v) => v[0] && setRank(v[0])}
                options={(['province', 'city', 'district'] as const).map((r) => ({ value: r, label: t(`agent.rank.${r}`) }))}
              />
            </Form.Item>
            <Form.Item label={t('agent.regionCode')}>
              <Input value={code} onChange={setCode} inputMode="numeric" maxLength={6} aria-label={t('agent.regionCode')} data-testid="apply-region" />
            </Form.Item>
            <Form.Item label={t('agent.note')}>
              <TextArea value={note} onChange={setNote} maxLength={2000} aria-label={t('agent.note')} data-testid="apply-note" />
            </Form.Item>
            <Form.Item label={t('agent.documents')}>
              <input
                type="file"
                multiple
                accept="image/png,image/jpeg,image/webp,application/pdf"
                aria-label={t('agent.documents')}
                data-testid="apply-documents"
                onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
              />
            </Form.Item>
          </Form>
          <Button block color="primary" loading={busy} onClick={() => void submit()} data-testid="apply-submit">
            {t('agent.submitApplication')}
          </Button>
        </Card>
      )}
    </Space>
  );
}
