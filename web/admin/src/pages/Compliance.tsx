import { useEffect, useState } from 'react';
import { Alert, Button, Space, Spin, Table, Tag, Typography } from 'antd';
import { formatTime } from '../../../shared/format.ts';
import type { ComplianceReport } from '../../../shared/types.ts';
import { useWord } from '../components/CommissionExplanation.tsx';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

const STATUS_COLORS: Record<string, string> = { compliant: 'green', violation: 'red', advisory: 'gold' };

/** GET /v1/compliance/report as a page the merchant's lawyer can read and print. */
export default function CompliancePage() {
  const { t, lang } = useI18n();
  const word = useWord();
  const { api } = useAuthed();
  const [report, setReport] = useState<ComplianceReport | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.get<ComplianceReport>('/v1/compliance/report').then(setReport, (err: unknown) => setError(messageOf(err)));
  }, [api]);

  if (error) return <Alert type="error" showIcon title={t('common.error', { message: error })} />;
  if (!report) return <Spin />;
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }} wrap>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
          {t('compliance.title')}
        </Typography.Title>
        <Button onClick={() => window.print()}>{t('compliance.print')}</Button>
      </Space>
      <Typography.Paragraph type="secondary" style={{ margin: 0 }}>
        {t('compliance.intro')}
      </Typography.Paragraph>
      <Alert
        data-testid="compliance-overall"
        type={report.compliant ? 'success' : 'error'}
        showIcon
        title={report.compliant ? t('compliance.overallOk') : t('compliance.overallBad')}
        description={t('compliance.generatedAt', { at: formatTime(report.generated_at, lang) })}
      />
      <Table
        rowKey="rule"
        pagination={false}
        dataSource={report.rules}
        data-testid="compliance-rules"
        scroll={{ x: 'max-content' }}
        columns={[
          { title: t('compliance.rule'), key: 'title', render: (_: unknown, r) => (lang === 'en' ? r.title.en : r.title.zh), width: 260 },
          {
            title: t('compliance.status'),
            dataIndex: 'status',
            render: (v: string) => <Tag color={STATUS_COLORS[v] ?? 'default'}>{word('compliance.status', v)}</Tag>,
          },
          {
            title: t('compliance.setting'),
            dataIndex: 'setting',
            render: (v: unknown) => (
              <Typography.Text code style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
                {JSON.stringify(v)}
              </Typography.Text>
            ),
          },
          { title: t('compliance.detail'), dataIndex: 'detail', render: (v: string) => <span style={{ whiteSpace: 'normal' }}>{v}</span> },
        ]}
      />
    </Space>
  );
}
