import { useState } from 'react';
import { Link } from 'react-router-dom';
import { Alert, App, Button, Input, Modal, Space, Typography } from 'antd';
import type { Distributor } from '../../../shared/types.ts';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { DistributorTable, Pager, useDistributorPages } from './Distributors.tsx';

const PENDING = { q: '', status: 'pending' as const, grade: '' };

export default function ApplicationsPage() {
  const { t } = useI18n();
  const { api } = useAuthed();
  const { message } = App.useApp();
  const pages = useDistributorPages(PENDING);
  const [rejecting, setRejecting] = useState<Distributor | null>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);

  async function act(d: Distributor, what: 'approve' | 'reject') {
    setBusy(true);
    try {
      await api.post(`/v1/distributors/${encodeURIComponent(d.id)}/${what}`, what === 'reject' ? { reason } : undefined);
      void message.success(t(what === 'approve' ? 'detail.approved' : 'detail.rejected'));
      setRejecting(null);
      pages.reload();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('applications.title')}
      </Typography.Title>
      <Alert type="info" showIcon title={t('applications.hint')} />
      {pages.error && <Typography.Text type="danger">{t('common.error', { message: pages.error })}</Typography.Text>}
      <DistributorTable
        page={pages.page && { ...pages.page, items: pages.page.items }}
        extraColumns={[
          {
            title: t('common.actions'),
            key: 'review',
            render: (_: unknown, d: Distributor) => (
              <Space>
                <Link to={`/distributors/${encodeURIComponent(d.id)}`}>{t('applications.open')}</Link>
                <Button size="small" type="primary" loading={busy} onClick={() => void act(d, 'approve')}>
                  {t('detail.approve')}
                </Button>
                <Button
                  size="small"
                  danger
                  onClick={() => {
                    setReason('');
                    setRejecting(d);
                  }}
                >
                  {t('detail.reject')}
                </Button>
              </Space>
            ),
          },
        ]}
      />
      <Pager pageNumber={pages.pageNumber} hasNext={!!pages.page?.next_cursor} onNext={pages.next} onPrevious={pages.previous} />
      <Modal
        open={rejecting !== null}
        title={t('detail.reject')}
        okButtonProps={{ disabled: !reason.trim(), danger: true }}
        confirmLoading={busy}
        onOk={() => rejecting && void act(rejecting, 'reject')}
        onCancel={() => setRejecting(null)}
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
      >
        <Input.TextArea
          aria-label={t('common.reason')}
          placeholder={t('common.reasonRequired')}
          rows={3}
          maxLength={500}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
      </Modal>
    </Space>
  );
}
