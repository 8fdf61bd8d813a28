/**
 * A fuzz worker process: runs CLI commands in-process (dist/cli.js, the code users run) for the
 * parent, one at a time, and reports exit code, output and time. The parent kills it on a hang.
 */
import * as path from 'node:path';

type Main = (argv: string[], out: { stdout(t: string): void; stderr(t: string): void; isTTY: boolean }) => Promise<number>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require(path.resolve(__dirname, '..', '..', 'dist', 'cli.js')) as { main: Main };

export interface FuzzJob {
  id: number;
  argv: string[];
}

export interface FuzzReply {
  id: number;
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

process.on('message', async (job: FuzzJob) => {
  let stdout = '';
  let stderr = '';
  const t0 = performance.now();
  const code = await main(job.argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false });
  process.send!({ id: job.id, code, stdout: stdout.slice(0, 2000), stderr: stderr.slice(0, 4000), ms: performance.now() - t0 } satisfies FuzzReply);
});
process.send!('ready');
