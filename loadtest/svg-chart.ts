/** One line of a chart. */
export interface Series {
  label: string;
  color: string;
  points: { x: number; y: number }[];
}

export interface ChartOptions {
  title: string;
  yUnit: string;
  xUnit?: string;
  width?: number;
  height?: number;
}

/** Escapes text for HTML and SVG. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** 1, 2, 5 × 10^k at or above `x`, so axis labels are round. */
export function niceCeil(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** An axis label: 1.2k above a thousand, at most two decimals below. */
export const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k` : String(Math.round(v * 100) / 100));

/** A line chart as inline SVG (no scripts, no external resources). */
export function lineChart(series: Series[], o: ChartOptions): string {
  const width = o.width ?? 860;
  const height = o.height ?? 260;
  const m = { left: 56, right: 16, top: 28, bottom: 40 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p.x));
  const yMax = niceCeil(Math.max(0, ...all.map((p) => p.y)) * 1.05);
  const X = (x: number) => m.left + (x / xMax) * w;
  const Y = (y: number) => m.top + h - (Math.max(0, y) / yMax) * h;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(o.title)}">`);
  parts.push(`<text x="${m.left}" y="18" font-size="14" font-weight="600">${esc(o.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = Y(v).toFixed(1);
    parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
  }
  const xStep = niceCeil(xMax / 8);
  for (let x = 0; x <= xMax; x += xStep) {
    parts.push(`<text x="${X(x).toFixed(1)}" y="${m.top + h + 16}" font-size="11" text-anchor="middle">${fmt(x)}</text>`);
  }
  parts.push(`<text x="${m.left + w / 2}" y="${height - 4}" font-size="11" text-anchor="middle">${esc(o.xUnit ?? 'seconds since start')}</text>`);
  parts.push(`<text x="12" y="${m.top + h / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${m.top + h / 2})">${esc(o.yUnit)}</text>`);
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${esc(s.color)}" stroke-width="1.8" points="${d}"/>`);
    }
    const lx = m.left + 220 + i * 150;
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="14" y2="14" stroke="${esc(s.color)}" stroke-width="3"/>`);
    parts.push(`<text x="${lx + 22}" y="18" font-size="12">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
