// How a fault script ends: its cleanup runs once, on Ctrl-C, SIGTERM, the run's
// time bound or the normal end, and then the process exits with the code given.
export function superviseRun(cleanup: () => Promise<void>, boundMs: number, log: (line: string) => void): (code: number) => void {
  let cleaning: Promise<void> | undefined;
  const shutdown = (code: number) => {
    cleaning ??= cleanup().finally(() => process.exit(code));
  };
  process.once("SIGINT", () => shutdown(130));
  process.once("SIGTERM", () => shutdown(143));
  setTimeout(() => {
    log(`the run took longer than ${boundMs / 60_000} min: stopping`);
    shutdown(2);
  }, boundMs).unref();
  return shutdown;
}
