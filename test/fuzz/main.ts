/**
 * npm run fuzz -- [--seed N] [--count M] [--timeout MS] [--workers K] [--keep DIR] [--json FILE] [--messages]
 *
 * Mutates the committed fixtures and runs inspect / analyze / prune on each mutant (see
 * campaign.ts). Exits 1 when any finding (internal error, hang, crash, multi-line message,
 * leftover temp file) was seen. --messages lists the clean error messages, for review.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { type CampaignResult, runCampaign } from './campaign.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string', default: '500' },
    timeout: { type: 'string', default: '5000' },
    workers: { type: 'string', default: String(os.availableParallelism()) },
    keep: { type: 'string' },
    json: { type: 'string' },
    messages: { type: 'boolean' },
  },
});

function print(r: CampaignResult): void {
  const v = r.verdicts;
  console.log(`seed ${values.seed}: ${r.mutants} mutants, ${r.commands} commands in ${r.seconds.toFixed(0)} s (slowest command ${(r.slowestMs / 1000).toFixed(2)} s)`);
  console.log(
    `  ok ${v.ok} · clean input errors ${v['input-error']} · internal errors ${v['internal-error']} · hangs ${v.hang} · crashes ${v.crash} · ` +
      `multi-line messages ${v['multi-line message']} · other exits ${v['unexpected exit']} · temp files left ${v['temp files left']}`,
  );
  const byMessage = new Map<string, CampaignResult['findings']>();
  for (const f of r.findings) {
    const key = `${f.verdict} in ${f.command}: ${f.detail.replace(/\d+/g, '#').slice(0, 160)}`;
    byMessage.set(key, [...(byMessage.get(key) ?? []), f]);
  }
  for (const [key, list] of byMessage) {
    const f = list[0]!;
    console.log(`\n${list.length}× ${key}\n   e.g. mutant ${f.mutant} of ${f.seed} (${f.how})${f.kept ? `, kept in ${f.kept}` : ''}\n   ${f.detail.slice(0, 300)}`);
  }
  if (values.messages) {
    console.log('\nclean input errors (numbers and quoted names masked):');
    for (const [m, n] of Object.entries(r.messages).sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(6)}  ${m}`);
  }
}

async function run(): Promise<void> {
  const count = Number(values.count);
  const r = await runCampaign({
    seed: Number(values.seed),
    count,
    timeoutMs: Number(values.timeout),
    workers: Number(values.workers),
    ...(values.keep ? { keep: values.keep } : {}),
    onProgress: (done, findings) => {
      if (done % 50 === 0 || done === count) process.stderr.write(`\r${done}/${count} mutants, ${findings} findings`);
    },
  });
  process.stderr.write('\n');
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(r, null, 1));
  print(r);
  process.exitCode = r.findings.length ? 1 : 0;
}

void run();
