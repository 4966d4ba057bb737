// Draws latency series as an SVG: one panel with a linear time axis and
// one with a logarithmic axis, so both the spread and the ratio show.

export interface Series {
  label: string;
  color: string;
  samples: number[];
}

const WIDTH = 720;
const PANEL_HEIGHT = 260;
const MARGIN = { left: 70, right: 20, top: 30, bottom: 40 };

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[char] ?? char);
}

function panel(series: Series[], top: number, scale: 'linear' | 'log'): string {
  const all = series.flatMap((each) => each.samples);
  const count = Math.max(...series.map((each) => each.samples.length));
  const low = scale === 'log' ? Math.max(0.1, Math.min(...all)) : 0;
  const high = Math.max(...all);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (value: number): number => {
    const fraction =
      scale === 'log'
        ? (Math.log10(Math.max(value, low)) - Math.log10(low)) / Math.max(1e-9, Math.log10(high) - Math.log10(low))
        : value / Math.max(1e-9, high);
    return top + MARGIN.top + plotHeight * (1 - fraction);
  };
  const x = (index: number): number => MARGIN.left + (count <= 1 ? 0 : (plotWidth * index) / (count - 1));
  const parts: string[] = [];
  parts.push(`<text x="${MARGIN.left}" y="${top + 18}" font-size="14">Request time (ms), ${scale} scale</text>`);
  parts.push(`<rect x="${MARGIN.left}" y="${top + MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`);
  const ticks = scale === 'log' ? logTicks(low, high) : linearTicks(high);
  for (const tick of ticks) {
    const tickY = y(tick).toFixed(1);
    parts.push(`<line x1="${MARGIN.left - 4}" y1="${tickY}" x2="${MARGIN.left + plotWidth}" y2="${tickY}" stroke="#ddd"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${tickY}" font-size="11" text-anchor="end" dominant-baseline="middle">${tick}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${top + PANEL_HEIGHT - 8}" font-size="11" text-anchor="middle">request number</text>`);
  for (const each of series) {
    const points = each.samples.map((value, index) => `${x(index).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${each.color}" stroke-width="1.5" points="${points}"/>`);
  }
  return parts.join('\n');
}

function linearTicks(high: number): number[] {
  const step = 10 ** Math.floor(Math.log10(Math.max(high, 1)));
  const ticks: number[] = [];
  for (let value = 0; value <= high; value += step) ticks.push(value);
  return ticks;
}

function logTicks(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let exponent = Math.floor(Math.log10(low)); 10 ** exponent <= high * 10; exponent += 1) {
    const value = 10 ** exponent;
    if (value >= low / 10 && value <= high * 10) ticks.push(Number(value.toPrecision(1)));
  }
  return ticks;
}

export function plotSvg(series: Series[], title: string): string {
  const height = PANEL_HEIGHT * 2 + 40;
  const legend = series
    .map((each, index) => {
      const legendY = 20 + index * 16;
      return `<rect x="${WIDTH - 200}" y="${legendY - 9}" width="12" height="3" fill="${each.color}"/><text x="${WIDTH - 182}" y="${legendY}" font-size="12">${escapeXml(each.label)}</text>`;
    })
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(series, 20, 'linear'),
    panel(series, 20 + PANEL_HEIGHT, 'log'),
    legend,
    '</svg>',
    '',
  ].join('\n');
}
