/** A uPlot time-series chart that follows its container's width (laptop and phone alike). */
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** Colours that stay apart for the first few groups, then repeat. */
const COLOURS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#64748b'];

export interface Series {
  label: string;
  values: number[];
}

export function TimeChart({
  title,
  xs,
  series,
  testId,
}: {
  title: string;
  /** Interval starts, in seconds since the epoch. */
  xs: number[];
  series: Series[];
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: COLOURS[i % COLOURS.length],
            width: 2,
            points: { show: xs.length < 60 },
          })),
        ],
        axes: [{}, { size: 60 }],
        legend: { live: true },
      },
      [xs, ...series.map((s) => s.values)],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [xs, series]);
  const total = series.reduce((sum, s) => sum + s.values.reduce((a, b) => a + b, 0), 0);
  return (
    <figure class="chart" data-testid={testId} data-total={total}>
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${total} in total`} />
    </figure>
  );
}
