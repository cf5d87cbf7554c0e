/**
 * Amounts by period as columns (negative periods, clawbacks, below the line), each with its period
 * and yuan as a tooltip. An SVG, so the portal carries no chart library.
 */
export function ColumnChart({
  points,
  label,
  testId,
  color = '#c2300a',
}: {
  points: { period: string; fen: number }[];
  label: string;
  testId: string;
  color?: string;
}) {
  const W = 320;
  const H = 100;
  const max = Math.max(1, ...points.map((p) => Math.abs(p.fen)));
  const bar = W / Math.max(1, points.length);
  const mid = points.some((p) => p.fen < 0) ? H / 2 : H;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={label} data-testid={testId}>
      {points.map((p, i) => {
        const h = Math.round((Math.abs(p.fen) / max) * (mid - 2));
        return (
          <rect
            key={p.period}
            x={i * bar + 1}
            y={p.fen >= 0 ? mid - h : mid}
            width={Math.max(1, bar - 2)}
            height={h}
            fill={p.fen >= 0 ? color : '#8c8c8c'}
            data-period={p.period}
            data-fen={p.fen}
          >
            <title>{`${p.period}: ${(p.fen / 100).toFixed(2)}`}</title>
          </rect>
        );
      })}
      <line x1={0} x2={W} y1={mid} y2={mid} stroke="#ddd" />
    </svg>
  );
}
