import { useEffect, useRef, useState } from 'react';
import { App, Button, Dropdown, Modal, Progress, Space, Typography } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import { saveBlob } from '../../../shared/api.ts';
import type { ExportFilters, ExportJob, ExportKind } from '../../../shared/types.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { messageOf } from './errors.ts';

const POLL_MS = 400;

/** Drops empty filters, so the job's filters say only what was chosen. */
function clean(filters: ExportFilters): ExportFilters {
  const out: ExportFilters = {};
  if (filters.from) out.from = filters.from;
  if (filters.to) out.to = filters.to;
  if (filters.status?.length) out.status = filters.status;
  if (filters.channel?.length) out.channel = filters.channel;
  if (filters.distributor_id) out.distributor_id = filters.distributor_id;
  return out;
}

/**
 * Export as .xlsx or .csv through the export job API: POST /v1/exports starts the job, the
 * dialog follows GET /v1/exports/{id} (rows written of the total) and downloads the file when it
 * is done. A small export finishes before the dialog has much to show; a large one shows its
 * progress and can be left (the job keeps running on the server until its file expires).
 */
export function ExportButton({ kind, filters, label, testId }: { kind: ExportKind; filters: ExportFilters; label?: string; testId?: string }) {
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [job, setJob] = useState<ExportJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const live = useRef(0);

  useEffect(
    () => () => {
      live.current += 1;
    },
    [],
  );

  if (!can('finance:read')) return null;

  async function start(format: 'xlsx' | 'csv') {
    const run = ++live.current;
    setError(null);
    try {
      let current = await api.post<ExportJob>('/v1/exports', { kind, format, lang: lang === 'en' ? 'en' : 'zh', filters: clean(filters) });
      setJob(current);
      while (current.status === 'queued' || current.status === 'running') {
        await new Promise((r) => setTimeout(r, POLL_MS));
        if (run !== live.current) return;
        current = await api.get<ExportJob>(`/v1/exports/${encodeURIComponent(current.id)}`);
        setJob(current);
      }
      if (current.status !== 'done' || !current.download_url) {
        setError(current.error?.message ?? t('export.failed'));
        return;
      }
      const { blob, filename } = await api.file(current.download_url, current.filename);
      if (run !== live.current) return;
      saveBlob(blob, filename);
      void message.success(t('export.done', { name: filename }));
      setJob(null);
    } catch (err) {
      if (run === live.current) setError(messageOf(err));
    }
  }

  function close() {
    live.current += 1;
    setJob(null);
    setError(null);
  }

  const open = job !== null || error !== null;
  const percent = job?.percent ?? null;
  return (
    <>
      <Dropdown
        menu={{
          items: [
            { key: 'xlsx', label: t('export.xlsx') },
            { key: 'csv', label: t('export.csv') },
          ],
          onClick: ({ key }) => void start(key === 'csv' ? 'csv' : 'xlsx'),
        }}
      >
        <Button icon={<DownloadOutlined />} data-testid={testId}>
          {label ?? t('export.button')}
        </Button>
      </Dropdown>
      <Modal open={open} title={job?.title ?? t('export.button')} onCancel={close} footer={<Button onClick={close}>{t('export.close')}</Button>} zIndex={1100}>
        <Space direction="vertical" style={{ width: '100%' }} data-testid="export-progress">
          {error ? (
            <Typography.Text type="danger">{t('common.error', { message: error })}</Typography.Text>
          ) : (
            <>
              <Progress
                percent={percent ?? 0}
                status={job?.status === 'failed' ? 'exception' : job?.status === 'done' ? 'success' : 'active'}
                aria-label={t('export.progress')}
                showInfo={percent !== null}
              />
              <Typography.Text>
                {job?.status === 'done'
                  ? t('export.downloading')
                  : job && job.total !== null
                    ? t('export.rowsOf', { rows: job.rows_written, total: job.total })
                    : t('export.rows', { rows: job?.rows_written ?? 0 })}
              </Typography.Text>
              <Typography.Text type="secondary">{t('export.hint')}</Typography.Text>
            </>
          )}
        </Space>
      </Modal>
    </>
  );
}
