import { useCallback, useEffect, useState } from 'react';
import { App, Button, Card, Descriptions, Image, Space, Spin, Typography, Upload } from 'antd';
import { UploadOutlined } from '@ant-design/icons';
import { formatTime } from '../../../shared/format.ts';
import type { PortalSettingsView } from '../../../shared/types.ts';
import { messageOf } from '../components/errors.ts';
import { SecretOnce } from '../components/SecretOnce.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { WechatSettingsCard } from '../components/WechatSettingsCard.tsx';

export default function PortalSettingsPage() {
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message, modal } = App.useApp();
  const [settings, setSettings] = useState<PortalSettingsView | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const s = await api.get<PortalSettingsView>('/v1/portal/settings');
      setSettings(s);
      if (s.poster_background.configured) {
        const blob = await api.blob('/v1/portal/poster-background');
        setPreview((old) => {
          if (old) URL.revokeObjectURL(old);
          return URL.createObjectURL(blob);
        });
      } else {
        setPreview((old) => {
          if (old) URL.revokeObjectURL(old);
          return null;
        });
      }
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }, [api, message, t]);
  useEffect(() => {
    void load();
  }, [load]);

  async function rotate() {
    setBusy(true);
    try {
      const r = await api.post<{ secret: string }>('/v1/portal/signing-secret');
      setSecret(r.secret);
      await load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  async function upload(file: File) {
    setBusy(true);
    try {
      setSettings(await api.upload<PortalSettingsView>('PUT', '/v1/portal/poster-background', file));
      void message.success(t('portal.posterUploaded'));
      await load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  async function removeBackground() {
    try {
      setSettings(await api.del<PortalSettingsView>('/v1/portal/poster-background'));
      void message.success(t('portal.posterRemoved'));
      await load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  if (!settings) return <Spin />;
  const s = settings.signing_secret;
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('portal.title')}
      </Typography.Title>
      {can('keys:write') && (
        <Card title={t('portal.secret')}>
          <Typography.Paragraph>{t('portal.secretHelp')}</Typography.Paragraph>
          <Descriptions
            size="small"
            column={1}
            items={[
              {
                key: 'state',
                label: t('portal.secret'),
                children: s.configured ? t('portal.secretConfigured', { at: formatTime(s.created_at, lang) }) : t('portal.secretMissing'),
              },
            ]}
          />
          <Button
            type="primary"
            loading={busy}
            onClick={() =>
              s.configured
                ? modal.confirm({
                    title: t('portal.secretRotate'),
                    content: t('portal.secretRotateConfirm'),
                    okText: t('common.confirm'),
                    cancelText: t('common.cancel'),
                    onOk: rotate,
                  })
                : void rotate()
            }
          >
            {s.configured ? t('portal.secretRotate') : t('portal.secretCreate')}
          </Button>
        </Card>
      )}
      {can('keys:write') && <WechatSettingsCard />}
      {can('program:write') && (
        <Card title={t('portal.poster')}>
          <Typography.Paragraph>{t('portal.posterHelp')}</Typography.Paragraph>
          <Space align="start" size="large" wrap>
            {preview ? (
              <Image src={preview} width={150} alt={t('portal.posterPreview')} />
            ) : (
              <Typography.Text type="secondary">{t('portal.posterNone')}</Typography.Text>
            )}
            <Space direction="vertical">
              <Upload
                accept="image/png,image/jpeg"
                showUploadList={false}
                beforeUpload={(file) => {
                  void upload(file);
                  return false;
                }}
              >
                <Button icon={<UploadOutlined />} loading={busy}>
                  {t('portal.posterUpload')}
                </Button>
              </Upload>
              {settings.poster_background.configured && <Button onClick={() => void removeBackground()}>{t('portal.posterRemove')}</Button>}
            </Space>
          </Space>
        </Card>
      )}
      <SecretOnce secret={secret} title={t('portal.secretShown')} testId="signing-secret" onClose={() => setSecret(null)} />
    </Space>
  );
}
