/**
 * Transitional: the vocabulary moved to ./vocab/. Import from there; this file goes once no module
 * imports it.
 */
export {
  K, KINDS, KIND_COST, SCHEMA_VERSION, DEFAULT_COST, kindDef, FAMILY_NAMES as FAMILIES, decodeU32s as u32s,
  type Family, type KindDef, type KindName,
} from './vocab/index.js';
export type BlobShape = 'none' | 'bytes' | 'msgpack';
