import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Form, Input, InputNumber, Modal, Space, Table, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { bpToPercent } from '../../../shared/format.ts';
import type { Grade } from '../../../shared/types.ts';
import { HundredthsInput } from '../components/HundredthsInput.tsx';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

interface GradeForm { code: string; name: string; rank: number; sales_bp: number; l1: number | null; l2: number | null; l3: number | null }

export default function GradesPage() {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [grades, setGrades] = useState<Grade[] | null>(null);
  const [editing, setEditing] = useState<Grade | 'new' | null>(null);
  const [saving, setSaving] = useState(false);
  const [form] = Form.useForm<GradeForm>();
  const writable = can('program:write');

  const load = useCallback(() => {
    api.get<{ items: Grade[] }>('/v1/grades').then((r) => setGrades(r.items), (err: unknown) => void message.error(t('common.error', { message: messageOf(err) })));
  }, [api, message, t]);
  useEffect(load, [load]);

  function open(g: Grade | 'new') {
    setEditing(g);
    form.resetFields();
    form.setFieldsValue(g === 'new'
      ? { code: '', name: '', rank: (grades?.at(-1)?.rank ?? 0) + 10, sales_bp: 0, l1: 0, l2: 0, l3: 0 }
      : { code: g.code, name: g.name, rank: g.rank, sales_bp: g.sales_bp, l1: g.override_bp[0] ?? null, l2: g.override_bp[1] ?? null, l3: g.override_bp[2] ?? null });
  }

  async function save() {
    let v: GradeForm;
    try { v = await form.validateFields(); } catch { return; } // the form shows what is missing
    // Trailing empty levels are left out; a gap in the middle is a 0 rate.
    const levels = [v.l1, v.l2, v.l3];
    while (levels.length && (levels.at(-1) === null || levels.at(-1) === undefined)) levels.pop();
    setSaving(true);
    try {
      await api.put<Grade>(`/v1/grades/${encodeURIComponent(v.code.trim())}`, { name: v.name, rank: v.rank, sales_bp: v.sales_bp, override_bp: levels.map((x) => x ?? 0) });
      setEditing(null);
      void message.success(t('common.saved'));
      load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setSaving(false);
    }
  }

  const pct = (bp: number | undefined) => (bp === undefined ? '—' : `${bpToPercent(bp)}%`);
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>{t('grades.title')}</Typography.Title>
        {writable && <Button type="primary" icon={<PlusOutlined />} onClick={() => open('new')} data-testid="grade-create">{t('grades.create')}</Button>}
      </Space>
      <Alert type="info" showIcon title={t('grades.note')} />
      <Table<Grade> rowKey="code" loading={grades === null} dataSource={grades ?? []} pagination={false} data-testid="grades-table"
        columns={[
          { title: t('grades.code'), dataIndex: 'code' },
          { title: t('grades.name'), dataIndex: 'name' },
          { title: t('grades.rank'), dataIndex: 'rank' },
          { title: t('grades.salesBp'), dataIndex: 'sales_bp', render: (v: number) => pct(v) },
          ...[1, 2, 3].map((level) => ({ title: t('grades.overrideBp', { level }), key: `l${level}`, render: (_: unknown, g: Grade) => pct(g.override_bp[level - 1]) })),
          ...(writable ? [{ title: t('common.actions'), key: 'actions', render: (_: unknown, g: Grade) => <Button size="small" onClick={() => open(g)}>{t('common.edit')}</Button> }] : []),
        ]} />
      <Modal open={editing !== null} title={editing === 'new' ? t('grades.create') : t('grades.edit', { code: editing?.code ?? '' })}
        onCancel={() => setEditing(null)} onOk={() => void save()} confirmLoading={saving} okText={t('common.save')} cancelText={t('common.cancel')} destroyOnHidden forceRender>
        <Form form={form} layout="vertical">
          <Form.Item name="code" label={t('grades.code')} extra={t('grades.codeHint')} rules={[{ required: true, pattern: /^[A-Za-z0-9_-]{1,32}$/, message: t('grades.codeHint') }]}>
            <Input disabled={editing !== 'new'} />
          </Form.Item>
          <Form.Item name="name" label={t('grades.name')} rules={[{ required: true, whitespace: true, max: 64 }]}><Input /></Form.Item>
          <Form.Item name="rank" label={t('grades.rank')} rules={[{ required: true }]}><InputNumber min={0} max={1000} precision={0} /></Form.Item>
          <Form.Item name="sales_bp" label={t('grades.salesBp')} rules={[{ required: true }]}><HundredthsInput suffix="%" max={10000} /></Form.Item>
          {[1, 2, 3].map((level) => (
            <Form.Item key={level} name={`l${level}`} label={t('grades.overrideBp', { level })}><HundredthsInput suffix="%" max={10000} /></Form.Item>
          ))}
        </Form>
      </Modal>
    </Space>
  );
}
