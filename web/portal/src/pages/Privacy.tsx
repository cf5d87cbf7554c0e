import { useCallback, useEffect, useState } from 'react';
import { Button, Card, Dialog, ErrorBlock, NoticeBar, Toast } from 'antd-mobile';
import { saveBlob } from '../../../shared/api.ts';
import { formatTime } from '../../../shared/format.ts';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';

interface ErasureRequest {
  id: string;
  status: 'open' | 'done';
  requested_at: string;
  resolved_at: string | null;
}

/** My personal data (PIPL): download all of it, or ask the merchant to erase it. */
export function PrivacyPage() {
  const { t, lang } = useI18n();
  const { api, session } = useSession();
  const [request, setRequest] = useState<ErasureRequest | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);

  const load = useCallback(() => {
    api.get<{ request: ErasureRequest | null }>('/v1/me/erasure-request').then(
      (r) => setRequest(r.request),
      (err: unknown) => setError(messageOf(err)),
    );
  }, [api]);
  useEffect(load, [load]);

  async function exportData() {
    setExporting(true);
    try {
      const { blob, filename } = await api.file('/v1/me/personal-data', `personal-data-${session?.distributor_id ?? 'me'}.xlsx`, {
        format: 'xlsx',
        lang: lang === 'en' ? 'en' : 'zh',
      });
      saveBlob(blob, filename);
      Toast.show({ content: t('privacy.exported') });
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    } finally {
      setExporting(false);
    }
  }

  async function askErasure() {
    const ok = await Dialog.confirm({ content: t('privacy.eraseConfirm'), confirmText: t('privacy.erase'), cancelText: t('common.back') });
    if (!ok) return;
    try {
      setRequest(await api.post<ErasureRequest>('/v1/me/erasure-request', {}));
      Toast.show({ icon: 'success', content: t('privacy.submitted') });
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    }
  }

  if (error) return <ErrorBlock status="default" title={t('common.error', { message: error })} />;
  return (
    <div style={{ padding: 12, display: 'flex', flexDirection: 'column', gap: 12 }}>
      <p style={{ margin: 0, color: '#555', lineHeight: 1.6 }}>{t('privacy.intro')}</p>
      <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t('privacy.export')}</h2>}>
        <p style={{ marginTop: 0, color: '#666' }}>{t('privacy.exportHint')}</p>
        <Button block loading={exporting} onClick={() => void exportData()} data-testid="privacy-export">
          {t('privacy.export')}
        </Button>
      </Card>
      <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t('privacy.erase')}</h2>}>
        <p style={{ marginTop: 0, color: '#666', lineHeight: 1.6 }}>{t('privacy.eraseHint')}</p>
        {request?.status === 'open' && (
          <NoticeBar wrap color="alert" data-testid="erasure-requested" content={t('privacy.requested', { at: formatTime(request.requested_at, lang) })} />
        )}
        {request?.status === 'done' && <NoticeBar wrap color="info" content={t('privacy.done', { at: formatTime(request.resolved_at, lang) })} />}
        {request === null && (
          <Button block color="danger" fill="outline" onClick={() => void askErasure()} data-testid="privacy-erase">
            {t('privacy.erase')}
          </Button>
        )}
      </Card>
    </div>
  );
}
