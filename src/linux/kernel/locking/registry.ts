/** Every lock of the kernel, so replay can read who holds and who waits for each one. */
import { kernel, type Kernel } from '../../kernel.js';
import type { RwSemaphore } from './rwsem.js';
import type { SpinLock } from './spinlock.js';

export function locks(k: Kernel = kernel()): (RwSemaphore | SpinLock)[] {
  return k.subsystem('locks', () => [] as (RwSemaphore | SpinLock)[]);
}
