/**
 * Transitional: the recording service is src/record/, and `usage` is `errors.usage`. demo.ts,
 * replay.ts and test/variant-vmagup.test.ts import these names from here until they import them
 * from there; this file goes then.
 */
import { errors } from '../errors.js';

export { recordRuns } from '../record/record.js';
export { runName, VARIANTS } from '../record/variants.js';
export const usage = errors.usage;
