/** How the CLI shows a request's bytes. */
/** Bytes as a C string list: NULs shown as spaces, the rest escaped. */
export function printable(data: Uint8Array): string {
  let s = '';
  for (const b of data) s += b === 0 ? ' ' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return s.trimEnd();
}
