/**
 * /proc/PID/cmdline, /proc/PID/environ and /proc/PID/mem (fs/proc/base.c, kernel-spec §8.2).
 * cmdline and environ pass FOLL_ANON to every access_remote_vm: since CVE-2018-1120 they never read
 * file-backed memory, so a process cannot make `ps` block on a FUSE page. mem reads and writes any
 * mapping, with FOLL_FORCE, as a debugger does.
 */
import { name } from '../../../sim/sim.js';
import type { Gen } from '../../../sim/task.js';
import { spin_lock, spin_unlock } from '../../kernel/locking/spinlock.js';
import { traced } from '../../kernel/ftrace.js';
import { request, type RequestResult } from '../../kernel/request.js';
import { type TaskStruct } from '../../kernel/sched.js';
import { EIO } from '../../include/errno.js';
import { FOLL_ANON, FOLL_FORCE, FOLL_WRITE } from '../../mm/gup.js';
import { access_remote_vm } from '../../mm/access_remote.js';
import { get_task_mm, mmput } from '../../kernel/fork.js';
import { type MmStruct, PAGE_SIZE } from '../../mm/mm_types.js';

const OP_CMDLINE = name('cmdline');
const OP_ENVIRON = name('environ');
const OP_MEM_READ = name('mem_read');
const OP_MEM_WRITE = name('mem_write');

interface ArgBounds {
  arg_start: number;
  arg_end: number;
  env_start: number;
  env_end: number;
}

function* read_arg_bounds(mm: MmStruct): Gen<ArgBounds> {
  yield* spin_lock(mm.arg_lock);
  const b = { arg_start: mm.arg_start, arg_end: mm.arg_end, env_start: mm.env_start, env_end: mm.env_end };
  yield* spin_unlock(mm.arg_lock);
  return b;
}

/**
 * get_mm_proctitle(): setproctitle() overwrote argv: return the first string of the area, at most a
 * page of it. As fs/proc/base.c: an offset past that page reads nothing without reading the target,
 * and the string's NUL is part of it when the page holds one.
 */
function* get_mm_proctitle(mm: MmStruct, out: Uint8Array, count: number, pos: number, arg_start: number): Gen<number> {
  if (pos >= PAGE_SIZE) return 0;
  const page = new Uint8Array(PAGE_SIZE);
  const got = yield* access_remote_vm(mm, arg_start, page, PAGE_SIZE, FOLL_ANON);
  if (got <= 0) return 0;
  let len = page.subarray(0, got).indexOf(0);
  if (len < 0) len = got;
  else len++; // strnlen() stopped at a NUL: include it
  if (pos >= len) return 0;
  const n = Math.min(len - pos, count);
  out.set(page.subarray(pos, pos + n));
  return n;
}

/** get_mm_cmdline(): bytes copied into out (from offset pos of the cmdline). */
export const get_mm_cmdline = traced('get_mm_cmdline', function* (
  mm: MmStruct, out: Uint8Array, count: number, pos: number,
): Gen<number> {
  if (!mm.env_end) return 0;
  const b = yield* read_arg_bounds(mm);
  if (b.arg_start >= b.arg_end) return 0;
  // The environment may continue the arguments (setproctitle): only if it is contiguous.
  if (b.env_start !== b.arg_end || b.env_end < b.env_start) b.env_start = b.env_end = b.arg_end;
  let len = b.env_end - b.arg_start;
  if (pos >= len) return 0;
  count = Math.min(count, len - pos);
  if (!count) return 0;
  // Magic: if argv's last byte is no longer NUL, setproctitle() rewrote the area.
  const c = new Uint8Array(1);
  if ((yield* access_remote_vm(mm, b.arg_end - 1, c, 1, FOLL_ANON)) === 1 && c[0]) {
    return yield* get_mm_proctitle(mm, out, count, pos, b.arg_start);
  }
  len = b.arg_end - b.arg_start;
  if (pos >= len) return 0;
  count = Math.min(count, len - pos);
  let addr = b.arg_start + pos;
  let copied = 0;
  while (count > 0) {
    const size = Math.min(PAGE_SIZE, count);
    const page = new Uint8Array(size);
    const got = yield* access_remote_vm(mm, addr, page, size, FOLL_ANON);
    if (got <= 0) break;
    out.set(page.subarray(0, got), copied);
    addr += got;
    copied += got;
    count -= got;
  }
  return copied;
});

/** read(2) of /proc/PID/cmdline: get_task_mm, get_mm_cmdline, mmput. */
export function* proc_pid_cmdline_read(tsk: TaskStruct, count: number, pos = 0): Gen<RequestResult> {
  return yield* request(OP_CMDLINE, pos, count, FOLL_ANON, function* () {
    const out = new Uint8Array(count);
    const mm = get_task_mm(tsk);
    if (!mm) return { result: 0, data: out };
    const result = yield* get_mm_cmdline(mm, out, count, pos);
    yield* mmput(mm);
    return { result, data: out };
  });
}

/**
 * environ_read(): the environment area, page by page, FOLL_ANON. As fs/proc/base.c does: nothing
 * at all before the process has an environment (`!mm->env_end`, read without arg_lock), and a
 * chunk that reads nothing (or fails) ends the read with that chunk's result: the count of the
 * chunks before it is dropped, although their bytes already reached the caller's buffer.
 */
export const environ_read = traced('environ_read', function* (
  mm: MmStruct, out: Uint8Array, count: number, pos: number,
): Gen<number> {
  if (mm.env_end === 0) return 0;
  const b = yield* read_arg_bounds(mm);
  let ret = 0;
  while (count > 0) {
    const src = b.env_start + pos;
    if (src >= b.env_end) break;
    const this_len = Math.min(PAGE_SIZE, count, b.env_end - src);
    const page = new Uint8Array(this_len);
    const got = yield* access_remote_vm(mm, src, page, this_len, FOLL_ANON);
    if (got <= 0) {
      ret = got;
      break;
    }
    out.set(page.subarray(0, got), ret);
    ret += got;
    pos += got;
    count -= got;
  }
  return ret;
});

export function* proc_pid_environ_read(tsk: TaskStruct, count: number, pos = 0): Gen<RequestResult> {
  return yield* request(OP_ENVIRON, pos, count, FOLL_ANON, function* () {
    const out = new Uint8Array(count);
    const mm = get_task_mm(tsk);
    if (!mm) return { result: 0, data: out };
    const result = yield* environ_read(mm, out, count, pos);
    yield* mmput(mm);
    return { result, data: out };
  });
}

/**
 * mem_rw() (fs/proc/base.c): /proc/PID/mem at offset `addr`, a page-sized chunk at a time, each its
 * own access_remote_vm() with FOLL_FORCE (proc_mem.force_override's default, always) and, for a
 * write, FOLL_WRITE. A chunk that moves nothing ends the transfer: -EIO if it was the first, else
 * the bytes moved so far. For a read, `buf` receives the bytes; for a write, it holds them.
 */
export const mem_rw = traced('mem_rw', function* (
  mm: MmStruct, buf: Uint8Array, count: number, addr: number, write: boolean,
): Gen<number> {
  const flags = FOLL_FORCE | (write ? FOLL_WRITE : 0);
  let copied = 0;
  while (count > 0) {
    const chunk = Math.min(count, PAGE_SIZE);
    const page = write ? buf.slice(copied, copied + chunk) : new Uint8Array(chunk);
    const moved = yield* access_remote_vm(mm, addr, page, chunk, flags);
    if (moved === 0) {
      if (copied === 0) copied = -EIO;
      break;
    }
    if (!write) buf.set(page.subarray(0, moved), copied);
    addr += moved;
    copied += moved;
    count -= moved;
  }
  return copied;
});

/**
 * A read or write of /proc/PID/mem as one request: open (proc_mem_open() takes the mm) and one
 * read(2) or write(2) at offset `addr` (mem_lseek). The file is opened and used in one request, so
 * the mm is taken once for both (the kernel's mmget_not_zero() at read time finds it live then). A
 * process without an mm reads and writes nothing.
 */
function* proc_pid_mem_rw(tsk: TaskStruct, addr: number, buf: Uint8Array, write: boolean): Gen<RequestResult> {
  const op = write ? OP_MEM_WRITE : OP_MEM_READ;
  const flags = FOLL_FORCE | (write ? FOLL_WRITE : 0);
  return yield* request(op, addr, buf.length, flags, function* () {
    const mm = get_task_mm(tsk);
    if (!mm) return { result: 0, data: buf };
    const result = yield* mem_rw(mm, buf, buf.length, addr, write);
    yield* mmput(mm);
    return { result, data: buf };
  });
}

/** pread(2) of /proc/PID/mem: `count` bytes of the target's memory at `addr` (mem_read()). */
export function proc_pid_mem_read(tsk: TaskStruct, addr: number, count: number): Gen<RequestResult> {
  return proc_pid_mem_rw(tsk, addr, new Uint8Array(count), false);
}

/** pwrite(2) of /proc/PID/mem: `data` into the target's memory at `addr` (mem_write()). */
export function proc_pid_mem_write(tsk: TaskStruct, addr: number, data: Uint8Array): Gen<RequestResult> {
  return proc_pid_mem_rw(tsk, addr, data.slice(), true);
}
