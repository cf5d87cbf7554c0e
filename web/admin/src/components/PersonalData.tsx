import { useEffect, useState } from 'react';
import { Alert, App, Button, Card, Descriptions, Form, Input, Modal, Space, Typography } from 'antd';
import { saveBlob } from '../../../shared/api.ts';
import { formatTime } from '../../../shared/format.ts';
import type { Distributor, Erasure, RevealedPersonalData } from '../../../shared/types.ts';
import { messageOf } from './errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

/**
 * A distributor's personal data under PIPL: whole values for pii:read (each view audited by the
 * server), the export of everything held (.xlsx), and erasure for the owner (pii:erase).
 */
export function PersonalData({ distributor, onErased }: { distributor: Distributor; onErased: () => void }) {
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [revealed, setRevealed] = useState<RevealedPersonalData | null>(null);
  const [busy, setBusy] = useState<'reveal' | 'export' | 'erase' | null>(null);
  const [erasing, setErasing] = useState(false);
  const [form] = Form.useForm<{ reason: string }>();
  // The person's own request to be erased, from the portal, waiting for the owner.
  const [requestedAt, setRequestedAt] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.get<{ items: { requested_at: string }[] }>('/v1/erasure-requests', { distributor_id: distributor.id, status: 'open' }).then(
      (p) => live && setRequestedAt(p.items[0]?.requested_at ?? null),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api, distributor.id]);
  const path = `/v1/distributors/${encodeURIComponent(distributor.id)}`;
  if (!can('pii:read') && !can('pii:erase')) return null;

  async function act(kind: 'reveal' | 'export', fn: () => Promise<void>) {
    setBusy(kind);
    try {
      await fn();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(null);
    }
  }

  async function erase() {
    const { reason } = await form.validateFields();
    setBusy('erase');
    try {
      await api.post<Erasure>(`${path}/erase`, { reason });
      void message.success(t('pii.erased'));
      setErasing(false);
      onErased();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(null);
    }
  }

  const v = (s: string | null | undefined) => s ?? t('pii.none');
  return (
    <Card title={t('pii.title')} data-testid="personal-data">
      <Typography.Paragraph type="secondary">{t('pii.intro')}</Typography.Paragraph>
      {requestedAt && (
        <Alert
          type="warning"
          showIcon
          data-testid="erasure-requested"
          style={{ marginBottom: 16 }}
          title={t('erasure.requested', { at: formatTime(requestedAt, lang) })}
        />
      )}
      <Space wrap>
        {can('pii:read') && (
          <Button
            loading={busy === 'reveal'}
            data-testid="pii-reveal"
            onClick={() => void act('reveal', async () => setRevealed(await api.get<RevealedPersonalData>(`${path}/pii`)))}
          >
            {t('pii.reveal')}
          </Button>
        )}
        {can('pii:read') && (
          <Button
            loading={busy === 'export'}
            data-testid="pii-export"
            onClick={() =>
              void act('export', async () => {
                const { blob, filename } = await api.file(`${path}/personal-data`, `personal-data-${distributor.id}.xlsx`, {
                  format: 'xlsx',
                  lang: lang.startsWith('en') ? 'en' : 'zh',
                });
                saveBlob(blob, filename);
              })
            }
          >
            {t('pii.export')}
          </Button>
        )}
        {can('pii:erase') && distributor.status !== 'erased' && (
          <Button
            danger
            data-testid="pii-erase"
            onClick={() => {
              form.resetFields();
              setErasing(true);
            }}
          >
            {t('pii.erase')}
          </Button>
        )}
      </Space>

      <Modal open={revealed !== null} title={t('pii.revealTitle')} footer={null} onCancel={() => setRevealed(null)} width={720}>
        {revealed && (
          <Descriptions
            column={1}
            size="small"
            bordered
            data-testid="pii-revealed"
            items={[
              { key: 'phone', label: t('pii.phone'), children: v(revealed.phone) },
              { key: 'real_name', label: t('pii.realName'), children: v(revealed.real_name) },
              { key: 'id_number', label: t('pii.idNumber'), children: v(revealed.id_number) },
              { key: 'wechat', label: t('pii.wechat'), children: v(revealed.wechat) },
              { key: 'email', label: t('pii.email'), children: v(revealed.email) },
              { key: 'address', label: t('pii.address'), children: v(revealed.address) },
              {
                key: 'accounts',
                label: t('pii.accounts'),
                children:
                  (revealed.payout_accounts ?? []).length === 0 ? (
                    t('pii.none')
                  ) : (
                    <Space direction="vertical">
                      {(revealed.payout_accounts ?? []).map((a) => (
                        <Typography.Text key={a.id}>
                          {a.display}
                          {a.details ? ` — ${Object.values(a.details).join(' / ')}` : ''}
                        </Typography.Text>
                      ))}
                    </Space>
                  ),
              },
            ]}
          />
        )}
      </Modal>

      <Modal
        open={erasing}
        title={t('pii.eraseTitle')}
        onCancel={() => setErasing(false)}
        onOk={() => void erase()}
        okText={t('pii.erase')}
        okButtonProps={{ danger: true }}
        cancelText={t('common.cancel')}
        confirmLoading={busy === 'erase'}
        destroyOnHidden
        forceRender
      >
        <Alert type="warning" showIcon title={t('pii.eraseWarning')} style={{ marginBottom: 16 }} />
        <Form form={form} name="pii-erase" layout="vertical">
          <Form.Item name="reason" label={t('pii.eraseReason')} rules={[{ required: true, whitespace: true, message: t('common.reasonRequired') }]}>
            <Input.TextArea rows={3} maxLength={500} showCount />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
