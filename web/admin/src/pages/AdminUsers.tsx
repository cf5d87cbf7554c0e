import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Form, Input, Modal, Select, Space, Switch, Table, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { formatTime } from '../../../shared/format.ts';
import type { AdminRole, AdminUser } from '../../../shared/types.ts';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

const ROLES: AdminRole[] = ['owner', 'operator', 'finance', 'auditor'];

export default function AdminUsersPage() {
  const { t, lang } = useI18n();
  const { api, can, session } = useAuthed();
  const { message } = App.useApp();
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<{ email: string; name: string; password: string; role: AdminRole }>();
  const writable = can('users:write');

  const load = useCallback(() => {
    api.get<{ items: AdminUser[] }>('/v1/admin-users').then(
      (r) => setUsers(r.items),
      (err: unknown) => void message.error(t('common.error', { message: messageOf(err) })),
    );
  }, [api, message, t]);
  useEffect(load, [load]);

  async function patch(u: AdminUser, body: Partial<Pick<AdminUser, 'role' | 'disabled'>>) {
    try {
      await api.patch(`/v1/admin-users/${encodeURIComponent(u.id)}`, body);
      void message.success(t('users.updated'));
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
    load();
  }

  async function create() {
    let v: { email: string; name: string; password: string; role: AdminRole };
    try {
      v = await form.validateFields();
    } catch {
      return;
    } // the form shows what is missing
    setBusy(true);
    try {
      await api.post('/v1/admin-users', { email: v.email.trim(), password: v.password, role: v.role, ...(v.name?.trim() ? { name: v.name.trim() } : {}) });
      void message.success(t('users.created'));
      setCreating(false);
      load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  const roleOptions = ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }));
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
          {t('users.title')}
        </Typography.Title>
        {writable && (
          <Button
            type="primary"
            icon={<PlusOutlined />}
            onClick={() => {
              form.resetFields();
              form.setFieldsValue({ role: 'operator' });
              setCreating(true);
            }}
          >
            {t('users.create')}
          </Button>
        )}
      </Space>
      <Alert type="info" showIcon title={t('users.roleHelp')} />
      <Table<AdminUser>
        rowKey="id"
        loading={users === null}
        dataSource={users ?? []}
        pagination={false}
        data-testid="users-table"
        columns={[
          { title: t('users.email'), dataIndex: 'email' },
          { title: t('users.name'), dataIndex: 'name', render: (v: string) => v || '—' },
          {
            title: t('users.role'),
            dataIndex: 'role',
            render: (role: AdminRole, u) =>
              writable && u.id !== session.user.id ? (
                <Select
                  aria-label={`${t('users.role')} ${u.email}`}
                  value={role}
                  options={roleOptions}
                  style={{ width: 140 }}
                  onChange={(r) => void patch(u, { role: r })}
                />
              ) : (
                t(`role.${role}`)
              ),
          },
          {
            title: t('users.disabled'),
            dataIndex: 'disabled',
            render: (disabled: boolean, u) =>
              writable && u.id !== session.user.id ? (
                <Switch aria-label={`${t('users.disabled')} ${u.email}`} checked={disabled} onChange={(v) => void patch(u, { disabled: v })} />
              ) : disabled ? (
                t('common.yes')
              ) : (
                t('common.no')
              ),
          },
          { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
        ]}
      />
      <Modal
        open={creating}
        title={t('users.create')}
        onOk={() => void create()}
        onCancel={() => setCreating(false)}
        confirmLoading={busy}
        okText={t('common.create')}
        cancelText={t('common.cancel')}
        destroyOnHidden
        forceRender
      >
        <Form form={form} layout="vertical">
          <Form.Item name="email" label={t('users.email')} rules={[{ required: true, type: 'email' }]}>
            <Input autoComplete="off" />
          </Form.Item>
          <Form.Item name="name" label={t('users.name')} rules={[{ max: 64 }]}>
            <Input />
          </Form.Item>
          <Form.Item name="password" label={t('users.password')} rules={[{ required: true, min: 10 }]}>
            <Input.Password autoComplete="new-password" />
          </Form.Item>
          <Form.Item name="role" label={t('users.role')} rules={[{ required: true }]}>
            <Select options={roleOptions} />
          </Form.Item>
        </Form>
      </Modal>
    </Space>
  );
}
