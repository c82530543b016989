// Where the admin commands write: stdout for results, stderr for errors and
// progress. A parameter so the commands can be tested in-process too.

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress may rewrite its line. */
  errIsTty: boolean;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  errIsTty: process.stderr.isTTY === true,
};
