import { Alert, Modal, Typography } from 'antd';
import { useI18n } from '../i18n.ts';

/**
 * A secret the server shows once (an API key, a webhook signing secret, an inbound or portal
 * secret): a warning that it will not be shown again and the value to copy. The one dialog every
 * page that creates or rotates a secret uses; `secret` null keeps it closed, and a closed dialog
 * leaves nothing of the secret in the page.
 */
export function SecretOnce({ secret, title, testId, onClose }: { secret: string | null; title: string; testId: string; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Modal
      open={secret !== null}
      title={title}
      onOk={onClose}
      onCancel={onClose}
      okText={t('common.confirm')}
      cancelButtonProps={{ style: { display: 'none' } }}
      // Closed means gone: antd would otherwise keep the hidden dialog, secret and all, in the page.
      destroyOnHidden
    >
      <Alert type="warning" showIcon title={t('common.secretOnce')} style={{ marginBottom: 12 }} />
      <Typography.Paragraph copyable={{ text: secret ?? '' }} code data-testid={testId}>
        {secret}
      </Typography.Paragraph>
    </Modal>
  );
}
