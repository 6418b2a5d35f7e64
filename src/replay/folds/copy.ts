/** Copies: bytes written into a folio by the kernel (copy_to_folio); copies to the caller change no state. */
import type { Folds } from '../model-types.js';
import { folioOffset } from './folio.js';

export const copyFolds: Folds = {
  copy_to_folio(m, e) {
    if (e.data) m.folios.get(e.folio)?.data.write(e.data, folioOffset(m, e.folio, e.addr));
  },
};
