// Names of options and file keys as they may appear in an error line: only what looks like an
// option name is ever quoted, so a secret pasted in the wrong place is never echoed.

/** Names are quoted back only when they look like option names: a pasted token must not echo. */
export function safeName(text: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(text) ? text : undefined;
}

export function quoteName(name: string): string {
  const safe = safeName(name);
  return safe === undefined ? '(a key that is not an option name)' : `'${safe}'`;
}
