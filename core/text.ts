/**
 * Quoting what the user gave in an error line: at most a fixed number of characters, so that a
 * 10 MB line of a broken file never becomes a 10 MB error line.
 *
 * @module
 */

/** The most characters of the user's data an error line quotes (about 200 in all). */
export const EXCERPT_CHARS = 120;

/**
 * `text` as an error line quotes it: whole when short, otherwise its first `max` characters and
 * how long it was (`"abc…" (10485760 characters)`), with control characters escaped.
 */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  const shown = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return text.length > max ? `${shown.slice(0, -1)}…" (${text.length} characters)` : shown;
}

/** A value of any type as an error line quotes it (JSON, cut as {@linkcode excerpt} cuts). */
export function excerptValue(value: unknown, max = EXCERPT_CHARS): string {
  const text = typeof value === "bigint"
    ? `${value}`
    : value === undefined
    ? "undefined"
    : JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}
