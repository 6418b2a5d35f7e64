/**
 * copy: bytes moving between folios and the caller's buffer. A copy costs len/8 extra ticks.
 */
import { kind } from './define.js';

/** copy.folio for a copy from the zero page, and for one from an I/O (->access) handler. */
export const COPY_FROM_ZERO_PAGE = 0;
export const COPY_FROM_IO = -1;

export const copy = {
  copy: kind({
    code: 70, fields: { addr: 'addr', len: 'int', folio: 'int', hash: 'hash' }, costPerByte: 'len',
    doc: 'bytes copied into the caller\'s buffer from a folio (0: the zero page, -1: an I/O handler); hash: FNV-1a of the bytes',
  }),
  copy_to_folio: kind({
    code: 71, fields: { addr: 'addr', len: 'int', folio: 'int', hash: 'hash' }, blob: { name: 'data', type: 'bytes' }, costPerByte: 'len',
    doc: 'bytes written into a folio (or an I/O handler, -1); data: the bytes',
  }),
  folio_copy: kind({ code: 72, fields: { dst: 'id', src: 'id', index: 'int' }, doc: 'copy_user_highpage(): dst gets the bytes of page index of src (src 0: the zero page)' }),
  folio_copy_page: kind({
    code: 124, fields: { dst: 'id', index: 'int', src: 'id' },
    doc: 'one small page copied into page index of a large folio (khugepaged; src 0: the zero page)',
  }),
} as const;
