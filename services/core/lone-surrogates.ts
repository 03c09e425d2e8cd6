// In a `u` regex a valid surrogate pair is one code point, so only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u;

/** The message of a refused text that is not well-formed Unicode. */
export const LONE_SURROGATE_MESSAGE = 'must be well-formed Unicode text (a lone UTF-16 surrogate, e.g. "\\ud800" alone, is not)';

/**
 * Whether `s` holds a UTF-16 surrogate without its pair (JSON's `"\ud800"` decodes to one). Such
 * text has no UTF-8 form: stores, providers and clients would each replace or reject it
 * differently, and two different passwords would hash alike. The API refuses it with 400.
 */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** Whether any string in a JSON value (object keys included) has a lone surrogate. */
export function anyLoneSurrogate(value: unknown): boolean {
  // An explicit stack: bodies are depth-limited already, but this must not recurse either way.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (hasLoneSurrogate(v)) return true;
    } else if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (hasLoneSurrogate(k)) return true;
        stack.push(x);
      }
    }
  }
  return false;
}
