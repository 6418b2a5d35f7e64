/**
 * The locks replay reads who holds and who waits for: every rwsem, and the spinlocks held now (an
 * idle spinlock has nothing to read). Each lock type keeps its own list (rwsems(),
 * held_spinlocks()); this module only joins them, so it depends on the lock types and they do not
 * depend on it.
 */
import { kernel, type Kernel } from '../../kernel.js';
import { type RwSemaphore, rwsems } from './rwsem.js';
import { type SpinLock, held_spinlocks } from './spinlock.js';

export function locks(k: Kernel = kernel()): (RwSemaphore | SpinLock)[] {
  // by id, which is creation order: the order the kernel's list of every spinlock had
  const spins = [...held_spinlocks(k)].sort((x, y) => x.id - y.id);
  return [...rwsems(k), ...spins];
}
