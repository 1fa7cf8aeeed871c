/**
 * JSON as Python's `json` module writes and reads it, for Optuna's journal: bare `NaN`,
 * `Infinity` and `-Infinity` (which `JSON.parse` rejects and `JSON.stringify` turns into `null`)
 * are read and written the same way Python does.
 *
 * @module
 */

const SPECIAL = /NaN|-?Infinity/y;

/** Parses JSON text that may hold Python's bare `NaN`, `Infinity`, `-Infinity` numbers. */
export function parsePyJson(text: string): unknown {
  // Replace the bare tokens (outside strings) by sentinel strings, then restore them.
  let out = "";
  let i = 0;
  let changed = false;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    SPECIAL.lastIndex = i;
    const m = SPECIAL.exec(text);
    if (m) {
      out += `"\\u0000${m[0]}"`; // an escaped NUL: no JSON text holds it bare
      i += m[0].length;
      changed = true;
      continue;
    }
    out += ch;
    i++;
  }
  const value = JSON.parse(out);
  if (!changed) return value;
  const restore = (v: unknown): unknown => {
    if (typeof v === "string" && v.startsWith("\u0000")) {
      return v === "\u0000NaN" ? NaN : v === "\u0000Infinity" ? Infinity : -Infinity;
    }
    if (Array.isArray(v)) return v.map(restore);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, restore(x)]));
    }
    return v;
  };
  return restore(value);
}

/** JSON text with non-finite numbers written as Python writes them. */
export function stringifyPyJson(value: unknown): string {
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (value === Infinity) return "Infinity";
    if (value === -Infinity) return "-Infinity";
    return JSON.stringify(value);
  }
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stringifyPyJson).join(", ")}]`;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${stringifyPyJson(v)}`).join(", ")}}`;
}

/** Python's `datetime.now().isoformat(timespec="microseconds")`: naive local time. */
export function pyNow(date = new Date()): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().replace("Z", "000");
}

/** Milliseconds since the epoch of a naive local timestamp as Python writes it. */
export function parsePyDate(text: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?$/.exec(text);
  if (!m) return Date.parse(text);
  const ms = m[2] ? Number(m[2].slice(0, 4).padEnd(4, "0")) * 1000 : 0;
  return new Date(`${m[1]}`).getTime() + Math.round(ms);
}
