import { InputNumber } from 'antd';
import { hundredths, parseHundredths } from '../../../shared/format.ts';

/**
 * An integer the API keeps in hundredths (fen, basis points) edited as a decimal with two
 * places (yuan, percent), converted by string so no float rounds an amount.
 */
export function HundredthsInput(props: {
  value?: number | null;
  onChange?: (v: number | null) => void;
  suffix: string;
  max?: number;
  id?: string;
  disabled?: boolean;
  'aria-label'?: string;
}) {
  const { value, onChange, suffix, max, id, disabled } = props;
  return (
    <InputNumber<string>
      id={id}
      aria-label={props['aria-label']}
      stringMode
      precision={2}
      min="0"
      max={max === undefined ? undefined : hundredths(max)}
      step="1"
      disabled={disabled}
      style={{ width: 220 }}
      suffix={suffix}
      value={value === null || value === undefined ? null : hundredths(value)}
      onChange={(v) => onChange?.(v === null || v === '' ? null : parseHundredths(String(v)))}
    />
  );
}
