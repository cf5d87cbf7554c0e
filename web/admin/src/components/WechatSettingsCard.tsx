import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Card, Descriptions, Form, Input, Typography } from 'antd';
import type { Static } from '@sinclair/typebox';
import type * as WechatSchemas from '../../../../src/modules/wechat/schema.ts';
import { messageOf } from './errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

type WechatSettingsView = Static<typeof WechatSchemas.WechatSettingsView>;

/** The merchant's official account: AppID and AppSecret (written, never read back), and what to enter at WeChat. */
export function WechatSettingsCard() {
  const { t } = useI18n();
  const { api } = useAuthed();
  const { message } = App.useApp();
  const [view, setView] = useState<WechatSettingsView | null>(null);
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<{ app_id: string; app_secret?: string }>();

  const load = useCallback(async () => {
    try {
      const v = await api.get<WechatSettingsView>('/v1/wechat/settings');
      setView(v);
      form.setFieldsValue({ app_id: v.app_id ?? '', app_secret: '' });
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }, [api, form, message, t]);
  useEffect(() => {
    void load();
  }, [load]);

  async function save(v: { app_id: string; app_secret?: string }) {
    setBusy(true);
    try {
      const secret = v.app_secret?.trim();
      setView(await api.put<WechatSettingsView>('/v1/wechat/settings', { app_id: v.app_id.trim(), ...(secret ? { app_secret: secret } : {}) }));
      form.setFieldValue('app_secret', '');
      void message.success(t('wechat.saved'));
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  if (!view) return null;
  return (
    <Card title={t('wechat.title')} data-testid="wechat-settings">
      <Typography.Paragraph>{t('wechat.help')}</Typography.Paragraph>
      <Descriptions
        size="small"
        column={1}
        style={{ marginBottom: 16 }}
        items={[
          { key: 'status', label: t('wechat.status'), children: view.configured ? t('wechat.on') : t('wechat.off') },
          { key: 'domain', label: t('wechat.domain'), children: <Typography.Text copyable>{view.js_safe_domain}</Typography.Text> },
          { key: 'callback', label: t('wechat.callback'), children: <Typography.Text copyable>{view.callback_url}</Typography.Text> },
          ...(view.payout_app_id ? [{ key: 'payout', label: t('wechat.payoutAppId'), children: view.payout_app_id }] : []),
        ]}
      />
      {view.payout_app_id_matches === false && <Alert type="warning" showIcon title={t('wechat.payoutMismatch')} style={{ marginBottom: 16 }} />}
      <Form form={form} layout="vertical" onFinish={(v) => void save(v)} style={{ maxWidth: 480 }}>
        <Form.Item name="app_id" label={t('wechat.appId')} rules={[{ required: true, pattern: /^wx[0-9a-f]{16}$/, message: 'wx + 16 hex' }]}>
          <Input autoComplete="off" placeholder="wx…" />
        </Form.Item>
        <Form.Item
          name="app_secret"
          label={t('wechat.appSecret')}
          extra={view.app_secret_configured ? t('wechat.secretKeep') : t('wechat.secretMissing')}
          rules={[{ pattern: /^[0-9a-zA-Z]{32}$/, message: '32 letters and digits' }]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={busy} data-testid="wechat-save">
          {t('wechat.save')}
        </Button>
      </Form>
    </Card>
  );
}
