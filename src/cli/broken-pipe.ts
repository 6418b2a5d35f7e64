/**
 * A reader that stops reading (`mmtrace workloads | head -3`) closes the pipe under us: the next
 * write fails with EPIPE. `cat` dies quietly of SIGPIPE there; Node ignores SIGPIPE, so the error
 * arrives as an 'error' event on stdout, which unhandled prints a stack trace and exits 1 (which
 * `diff` uses for "runs differ"). Nobody is reading any more, so end at once and quietly, with the
 * exit code the command has set so far (0 when it has set none).
 */
export function endQuietlyOnBrokenPipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
  });
}
