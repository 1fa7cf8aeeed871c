/**
 * The page around the charts: one self-contained HTML file (inline CSS, inline SVG, no script,
 * no font or image to fetch), with escaped text and plain tables.
 *
 * @module
 */

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/** A table: a header row and rows of cells (text, escaped here). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** A section of the page: a heading and its HTML. */
export interface Section {
  readonly id: string;
  readonly heading: string;
  readonly html: string;
}

const STYLE = `
body { font-family: sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f4f4f4; }
td { font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; }
.empty { color: #777; font-style: italic; }
`;

/** The whole page. */
export function page(options: {
  title: string;
  meta: readonly string[];
  sections: readonly Section[];
}): string {
  const sections = options.sections.map((s) =>
    `<section id="${escapeHtml(s.id)}">\n<h2>${escapeHtml(s.heading)}</h2>\n${s.html}\n</section>`
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(options.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(options.title)}</h1>
${options.meta.map((m) => `<p class="meta">${escapeHtml(m)}</p>`).join("\n")}
${sections}
</body>
</html>
`;
}

/** A chart's figure (its SVG inline). */
export function figure(svg: string): string {
  return `<figure>${svg}</figure>`;
}

/** A note where a chart has nothing to show. */
export function empty(text: string): string {
  return `<p class="empty">${escapeHtml(text)}</p>`;
}
