/** PromQL's regular expressions (RE2 syntax, fully anchored) as JavaScript RegExps. */

const regexCache = new Map<string, RegExp>();
/** fullRegex is a matcher's RE2 pattern as an anchored JS RegExp (a leading (?i) or (?s) becomes a flag). */
export function fullRegex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    let body = pattern;
    let flags = 's';
    const inline = /^\(\?([imsU]+)\)/.exec(body);
    if (inline) {
      body = body.slice(inline[0].length);
      if (inline[1]!.includes('i')) flags += 'i';
    }
    // RE2's named groups (?P<name>…) are JavaScript's (?<name>…).
    re = new RegExp(`^(?:${caseFolded(body.replaceAll('(?P<', '(?<'))})$`, flags);
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/**
 * caseFolded rewrites RE2's scoped case-insensitivity — `(?i:…)` and a `(?i)` inside a group — which JavaScript
 * lacks, by spelling each letter in scope as both cases ([aA]).
 */
function caseFolded(pattern: string): string {
  if (!pattern.includes('(?i')) return pattern;
  let out = '';
  const scopes: boolean[] = [false];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const insensitive = scopes[scopes.length - 1]!;
    if (c === '\\') {
      out += c + (pattern[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += insensitive && /[a-zA-Z]/.test(c) && pattern[i + 1] !== '-' && pattern[i - 1] !== '-' ? c.toLowerCase() + c.toUpperCase() : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      continue;
    }
    if (pattern.startsWith('(?i:', i)) {
      scopes.push(true);
      out += '(?:';
      i += 3;
      continue;
    }
    if (pattern.startsWith('(?i)', i)) {
      scopes[scopes.length - 1] = true;
      i += 3;
      continue;
    }
    if (c === '(') scopes.push(insensitive);
    else if (c === ')') scopes.pop();
    out += insensitive && /[a-zA-Z]/.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c;
  }
  return out;
}
