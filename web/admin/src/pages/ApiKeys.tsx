import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Form, Input, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { formatTime } from '../../../shared/format.ts';
import type { ApiKeyScope, ApiKeyView } from '../../../shared/types.ts';
import { messageOf } from '../components/errors.ts';
import { SecretOnce } from '../components/SecretOnce.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

const SCOPES: ApiKeyScope[] = ['full', 'read', 'orders'];

/** The tenant's API keys: each with its scope; new, rotate, revoke (keys:write). */
export default function ApiKeysPage() {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const { message, modal } = App.useApp();
  const [keys, setKeys] = useState<ApiKeyView[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [busy, setBusy] = useState(false);
  const [shown, setShown] = useState<string | null>(null);
  const [form] = Form.useForm<{ name: string; scope: ApiKeyScope }>();
  const scope = Form.useWatch('scope', form);

  const load = useCallback(() => {
    api.get<{ items: ApiKeyView[] }>('/v1/api-keys').then(
      (r) => setKeys(r.items),
      (err: unknown) => void message.error(t('common.error', { message: messageOf(err) })),
    );
  }, [api, message, t]);
  useEffect(load, [load]);

  async function create() {
    let v: { name: string; scope: ApiKeyScope };
    try {
      v = await form.validateFields();
    } catch {
      return;
    } // the form shows what is missing
    setBusy(true);
    try {
      const k = await api.post<ApiKeyView & { api_key: string }>('/v1/api-keys', { name: v.name.trim(), scope: v.scope });
      setCreating(false);
      setShown(k.api_key);
      load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  function act(k: ApiKeyView, what: 'rotate' | 'revoke') {
    modal.confirm({
      title: t(what === 'rotate' ? 'keys.rotate' : 'keys.revoke'),
      content: t(what === 'rotate' ? 'keys.rotateConfirm' : 'keys.revokeConfirm'),
      okText: t('common.confirm'),
      cancelText: t('common.cancel'),
      okButtonProps: { danger: what === 'revoke' },
      onOk: async () => {
        try {
          const r = await api.post<ApiKeyView & { api_key?: string }>(`/v1/api-keys/${encodeURIComponent(k.id)}/${what}`);
          if (r.api_key) setShown(r.api_key);
        } catch (err) {
          void message.error(t('common.error', { message: messageOf(err) }));
        }
        load();
      },
    });
  }

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
          {t('keys.title')}
        </Typography.Title>
        <Button
          type="primary"
          icon={<PlusOutlined />}
          onClick={() => {
            form.resetFields();
            form.setFieldsValue({ scope: 'orders' });
            setCreating(true);
          }}
          data-testid="key-create"
        >
          {t('keys.create')}
        </Button>
      </Space>
      <Alert type="info" showIcon title={t('keys.help')} />
      <Table<ApiKeyView>
        rowKey="id"
        loading={keys === null}
        dataSource={keys ?? []}
        pagination={false}
        data-testid="keys-table"
        columns={[
          { title: t('keys.name'), dataIndex: 'name' },
          {
            title: t('keys.scope'),
            dataIndex: 'scope',
            render: (s: ApiKeyScope) => (
              <Tag color={s === 'full' ? 'red' : s === 'read' ? 'blue' : 'green'} data-testid="key-scope">
                {t(`keys.scope.${s}`)}
              </Tag>
            ),
          },
          {
            title: t('keys.status'),
            dataIndex: 'revoked_at',
            render: (v: string | null) => (v ? <Tag>{t('keys.revoked')}</Tag> : <Tag color="success">{t('keys.active')}</Tag>),
          },
          { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
          { title: t('keys.lastUsed'), dataIndex: 'last_used_at', render: (v: string | null) => (v ? formatTime(v, lang) : t('keys.never')) },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_v, k) =>
              k.revoked_at ? null : (
                <Space>
                  <Button size="small" onClick={() => act(k, 'rotate')}>
                    {t('keys.rotate')}
                  </Button>
                  <Button size="small" danger onClick={() => act(k, 'revoke')}>
                    {t('keys.revoke')}
                  </Button>
                </Space>
              ),
          },
        ]}
      />
      <Modal
        open={creating}
        title={t('keys.create')}
        onOk={() => void create()}
        onCancel={() => setCreating(false)}
        confirmLoading={busy}
        okText={t('common.create')}
        cancelText={t('common.cancel')}
        destroyOnHidden
        forceRender
      >
        <Form form={form} layout="vertical">
          <Form.Item name="name" label={t('keys.name')} rules={[{ required: true, whitespace: true, max: 64 }]}>
            <Input autoComplete="off" />
          </Form.Item>
          <Form.Item name="scope" label={t('keys.scope')} rules={[{ required: true }]} extra={scope ? t(`keys.scopeHelp.${scope}`) : undefined}>
            <Select options={SCOPES.map((s) => ({ value: s, label: t(`keys.scope.${s}`) }))} data-testid="key-scope-select" />
          </Form.Item>
        </Form>
      </Modal>
      <SecretOnce secret={shown} title={t('keys.shown')} testId="api-key" onClose={() => setShown(null)} />
    </Space>
  );
}
