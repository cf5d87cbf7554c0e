import { useCallback, useEffect, useState } from 'react';
import { App, Button, Space, Table, Tag, Typography } from 'antd';
import { saveBlob } from '../../../shared/api.ts';
import { messageOf } from '../components/errors.ts';
import { DistributorLink, ReasonDialog } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

interface Application {
  id: string;
  distributor_id: string;
  rank: 'province' | 'city' | 'district';
  region_code: string;
  region_full_name: string;
  note: string;
  documents: { id: string; kind: string; filename: string }[];
  status: 'pending' | 'approved' | 'rejected';
  reason: string | null;
  agent_id: string | null;
  created_at: string;
}

/** Agent applications (open ones first, as the API lists them): documents to read, approve or reject with a reason. */
export function ApplicationsTab({ onAppointed }: { onAppointed: () => void }) {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [items, setItems] = useState<Application[]>([]);
  const [rejecting, setRejecting] = useState<Application | null>(null);
  const writable = can('distributors:write');
  const load = useCallback(() => {
    api.get<{ items: Application[] }>('/v1/agent-applications', { limit: 200 }).then(
      (p) => setItems(p.items),
      (err: unknown) => void message.error(t('common.error', { message: messageOf(err) })),
    );
  }, [api, message, t]);
  useEffect(load, [load]);

  async function approve(a: Application) {
    try {
      await api.post(`/v1/agent-applications/${a.id}/approve`);
      void message.success(t('agents.app.approved', { region: a.region_full_name }));
      load();
      onAppointed();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }
  async function openDocument(a: Application, doc: { id: string; filename: string }) {
    try {
      const { blob, filename } = await api.file(`/v1/agent-applications/${a.id}/documents/${doc.id}`, doc.filename);
      saveBlob(blob, filename);
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  return (
    <>
      <Table<Application>
        rowKey="id"
        dataSource={items}
        pagination={false}
        locale={{ emptyText: t('agents.app.empty') }}
        data-testid="agent-applications-table"
        columns={[
          { title: t('agents.app.applicant'), render: (_, a) => <DistributorLink id={a.distributor_id} /> },
          { title: t('agents.app.territory'), render: (_, a) => `${a.region_full_name}（${a.region_code}）· ${t(`agents.rank.${a.rank}`)}` },
          { title: t('agents.app.note'), render: (_, a) => a.note },
          {
            title: t('agents.app.documents'),
            render: (_, a) =>
              writable ? (
                <Space wrap>
                  {a.documents.map((d) => (
                    <Button key={d.id} size="small" type="link" onClick={() => void openDocument(a, d)} data-testid="agent-application-document">
                      {d.filename}
                    </Button>
                  ))}
                </Space>
              ) : (
                a.documents.length
              ),
          },
          { title: t('agents.app.submitted'), render: (_, a) => new Date(a.created_at).toLocaleString() },
          {
            title: t('agents.status'),
            render: (_, a) => (
              <Space>
                <Tag color={a.status === 'approved' ? 'green' : a.status === 'rejected' ? 'red' : 'orange'}>{t(`agents.app.status.${a.status}`)}</Tag>
                {a.reason && <Typography.Text type="secondary">{a.reason}</Typography.Text>}
              </Space>
            ),
          },
          {
            title: t('common.actions'),
            render: (_, a) =>
              writable && a.status === 'pending' ? (
                <Space>
                  <Button size="small" type="primary" onClick={() => void approve(a)} data-testid="approve-application">
                    {t('agents.app.approve')}
                  </Button>
                  <Button size="small" danger onClick={() => setRejecting(a)} data-testid="reject-application">
                    {t('agents.app.reject')}
                  </Button>
                </Space>
              ) : null,
          },
        ]}
      />
      <ReasonDialog
        open={rejecting !== null}
        title={rejecting ? t('agents.app.rejectTitle', { region: rejecting.region_full_name }) : ''}
        fields={[{ name: 'reason', label: t('common.reason'), required: true, max: 500 }]}
        danger
        onSubmit={async (v) => {
          if (!rejecting) return;
          await api.post(`/v1/agent-applications/${rejecting.id}/reject`, { reason: v.reason });
          load();
        }}
        onClose={() => setRejecting(null)}
      />
    </>
  );
}
