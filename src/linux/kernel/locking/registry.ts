/**
 * Every lock of the kernel, so replay can read who holds and who waits for each one. Each lock type
 * keeps its own list (rwsems(), spinlocks()); this module only joins them, so it depends on the lock
 * types and they do not depend on it.
 */
import { kernel, type Kernel } from '../../kernel.js';
import { type RwSemaphore, rwsems } from './rwsem.js';
import { type SpinLock, spinlocks } from './spinlock.js';

export function locks(k: Kernel = kernel()): (RwSemaphore | SpinLock)[] {
  return [...rwsems(k), ...spinlocks(k)];
}
