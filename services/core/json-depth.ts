/**
 * Whether a JSON text nests arrays and objects deeper than `maxDepth`, found in one pass over the
 * bytes without parsing. Checked before `JSON.parse`, so a body of a few kilobytes nested tens
 * of thousands deep is refused before anything (the parser, a schema, a store's serialiser)
 * recurses into it. Brackets inside strings do not count; the text need not be valid JSON (the
 * parser reports that afterwards).
 */
export function jsonTooDeep(text: Buffer | string, maxDepth: number): boolean {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c) i++; // a backslash escapes the next byte (\" does not end the string)
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) {
      inString = true;
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if ((b === 0x5d || b === 0x7d) && depth > 0) {
      depth--;
    }
  }
  return false;
}
