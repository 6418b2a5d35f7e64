/**
 * The smallest path module: a hook that never copies anything, so __access_remote_vm() goes
 * straight to mmap_lock -- the kernel without the series. Its runs are mainline's, event for event:
 * the same final hash as `--path=gup`.
 *
 *   npx mmtrace record cross-vma-race --path=gup,./examples/paths/mainline.ts --out=traces/mainline.db
 *   npx mmtrace diff traces/mainline.db#gup traces/mainline.db#mainline
 */
import type { AccessPathModule, Gen } from 'mmtrace/linux';

const mainline: AccessPathModule = {
  description: 'no fast path: every access takes mmap_lock, as mainline does',
  // A generator that returns at once: it yields no event, so the kernel runs as it does without a hook.
  *access_remote_vm_fast_hook(): Gen<number | null> {
    return null;
  },
};

export default mainline;
