import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Card, Input, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { formatTime } from '../../../shared/format.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { messageOf } from './errors.ts';

interface LandingDomain {
  id: string;
  domain: string;
  status: 'pending' | 'verified';
  verified_at: string | null;
  verification: { type: 'dns_txt'; name: string; value: string };
  created_at: string;
}

/**
 * The domains the invite links' landing page may be on (security.md): the owner adds one, publishes
 * the TXT record shown, and verifies it; the landing page must then be on a verified domain.
 */
export function LandingDomains() {
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [items, setItems] = useState<LandingDomain[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [domain, setDomain] = useState('');
  const [busy, setBusy] = useState(false);
  const owner = can('keys:write');

  const load = useCallback(async () => {
    try {
      setItems((await api.get<{ items: LandingDomain[] }>('/v1/landing-domains')).items);
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  async function act(fn: () => Promise<unknown>, done: string) {
    setBusy(true);
    try {
      await fn();
      void message.success(done);
      await load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('landing.title')} data-testid="landing-domains">
      <Typography.Paragraph type="secondary">{t('landing.hint')}</Typography.Paragraph>
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      <Table<LandingDomain>
        rowKey="id"
        dataSource={items ?? []}
        loading={items === null}
        pagination={false}
        size="small"
        locale={{ emptyText: t('landing.empty') }}
        columns={[
          { title: t('landing.domain'), dataIndex: 'domain' },
          {
            title: t('landing.status'),
            dataIndex: 'status',
            render: (s: LandingDomain['status'], d) =>
              s === 'verified' ? (
                <Tag color="green">
                  {t('landing.verified')} {d.verified_at ? formatTime(d.verified_at, lang) : ''}
                </Tag>
              ) : (
                <Tag color="orange">{t('landing.pending')}</Tag>
              ),
          },
          {
            title: t('landing.record'),
            key: 'record',
            render: (_: unknown, d) =>
              d.status === 'verified' ? (
                '—'
              ) : (
                <Space direction="vertical" size={0}>
                  <Typography.Text code copyable>
                    {d.verification.name}
                  </Typography.Text>
                  <Typography.Text code copyable>
                    {d.verification.value}
                  </Typography.Text>
                </Space>
              ),
          },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_: unknown, d) =>
              !owner ? (
                '—'
              ) : (
                <Space>
                  {d.status === 'pending' && (
                    <Button
                      size="small"
                      loading={busy}
                      onClick={() => void act(() => api.post(`/v1/landing-domains/${encodeURIComponent(d.id)}/verify`), t('landing.verifiedNow'))}
                    >
                      {t('landing.verify')}
                    </Button>
                  )}
                  <Popconfirm
                    title={t('landing.removeAsk')}
                    okText={t('common.confirm')}
                    cancelText={t('common.cancel')}
                    onConfirm={() => void act(() => api.del(`/v1/landing-domains/${encodeURIComponent(d.id)}`), t('landing.removed'))}
                  >
                    <Button size="small" danger>
                      {t('landing.remove')}
                    </Button>
                  </Popconfirm>
                </Space>
              ),
          },
        ]}
      />
      {owner && (
        <Space style={{ marginTop: 12 }}>
          <Input
            value={domain}
            onChange={(e) => setDomain(e.target.value)}
            placeholder="shop.example.com"
            style={{ width: 260 }}
            data-testid="landing-domain-input"
          />
          <Button
            loading={busy}
            disabled={!domain.trim()}
            onClick={() =>
              void act(async () => {
                await api.post('/v1/landing-domains', { domain: domain.trim() });
                setDomain('');
              }, t('landing.added'))
            }
          >
            {t('landing.add')}
          </Button>
        </Space>
      )}
    </Card>
  );
}
