/**
 * A small uPlot line chart. `values` are y values at `times` (seconds); the chart is an image
 * for assistive technology, with `label` (which should say the current value) as its name.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesSpec {
  readonly label: string;
  readonly values: readonly number[];
  readonly stroke: string;
}

export interface ChartProps {
  readonly times: readonly number[];
  readonly series: readonly SeriesSpec[];
  readonly label: string;
  readonly width?: number;
  readonly height?: number;
  /** Axes and legend (the sink charts); sparklines have neither. */
  readonly axes?: boolean;
}

export function Chart({
  times,
  series,
  label,
  width = 120,
  height = 28,
  axes = false,
}: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = `${series.map((s) => s.label).join('|')}:${width}x${height}:${axes}`;
  const data = (): uPlot.AlignedData => [
    times as number[],
    ...series.map((s) => s.values as number[]),
  ];
  useEffect(() => {
    if (!box.current) return;
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: axes },
      cursor: { show: axes },
      scales: { x: { time: axes }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: axes
        ? [{ stroke: '#333' }, { stroke: '#333', size: 50 }]
        : [{ show: false }, { show: false }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 1.5,
          points: { show: false },
        })),
      ],
    };
    const p = new uPlot(opts, data(), box.current);
    plot.current = p;
    return () => {
      p.destroy();
      plot.current = null;
    };
  }, [shape]);
  useEffect(() => {
    plot.current?.setData(data());
  });
  return <div class={axes ? 'chart' : 'sparkline'} role="img" aria-label={label} ref={box} />;
}
