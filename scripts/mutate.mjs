// npm run mutate [-- <source file>.ts ... [Stryker options]]   npm run mutate -- --scores | --survivors [files]
//
// Runs Stryker (stryker.config.json) on the given source files, or on the whole configured set, and
// keeps every result in test/mutation/stryker-incremental.json, which is committed. Stryker's own
// incremental file holds only the files of its last run; here each run starts from the committed
// results (so unchanged mutants whose covering test files did not change are not re-tested) and
// its results are merged back file by file. A full pass over the configured set is hours of CPU on
// 2 cores, so it can be spread over several runs. `--scores` only prints the per-file table;
// `--survivors` lists the surviving and uncovered mutants of the given files (line, mutator, code).
// `--unit-only` runs only the direct tests (test/unit/ and the numpy-reference file
// test/integration/pipelineReference.test.ts) with a time limit of 5 s plus their own time, so a
// kernel's loop-bound mutants stop in seconds, not minutes: its score is a lower bound (a mutant
// only an onnxruntime test would kill counts as surviving).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const committed = path.join(root, 'test/mutation/stryker-incremental.json');
// Per run, so that two runs on different files can go at once (each merges into the committed file when it ends).
const scratch = path.join(root, `reports/stryker-incremental-${process.pid}.json`);

const args = process.argv.slice(2);
const survivors = args.includes('--survivors');
const scoresOnly = survivors || args.includes('--scores');
// Source files are the arguments ending in .ts; other arguments (e.g. --concurrency 1) go to Stryker.
const files = args.filter((a) => a.endsWith('.ts'));
const unitOnly = args.includes('--unit-only');
const passOn = args.filter((a) => !a.endsWith('.ts') && !['--scores', '--survivors', '--unit-only'].includes(a));
const UNIT_FILES = /^test\/unit\/|^test\/integration\/pipelineReference\.test\.ts$/;

const read = (f) => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined);

/**
 * Stryker numbers the tests of each run afresh; results merged from several runs need one naming,
 * so every test id (in testFiles, coveredBy and killedBy) becomes its test file's name.
 */
function byTestName(report) {
  const name = new Map();
  for (const t of Object.values(report.testFiles ?? {})) for (const x of t.tests) name.set(x.id, x.name);
  const rename = (ids) => ids?.map((id) => name.get(id) ?? id);
  for (const t of Object.values(report.testFiles ?? {})) t.tests = t.tests.map((x) => ({ ...x, id: x.name }));
  for (const f of Object.values(report.files)) f.mutants = f.mutants.map((m) => ({ ...m, ...(m.coveredBy ? { coveredBy: rename(m.coveredBy) } : {}), ...(m.killedBy ? { killedBy: rename(m.killedBy) } : {}) }));
  return report;
}

if (!scoresOnly) {
  const before = read(committed);
  mkdirSync(path.dirname(scratch), { recursive: true });
  if (before) {
    // Stryker reuses a surviving mutant's result when the tests covering it look unchanged, but a
    // TAP test (a whole file) has no location, so an edited test file looks unchanged: the named
    // files' survivors are always re-tested. Killed and timed-out results are reused.
    for (const f of files) {
      const entry = before.files[f];
      if (entry) entry.mutants = entry.mutants.filter((m) => m.status === 'Killed' || m.status === 'Timeout');
    }
    writeFileSync(scratch, JSON.stringify(before));
  }
  const stryker = path.join(root, 'node_modules/.bin/stryker');
  const own = ['--incrementalFile', scratch, '--tempDirName', `.stryker-tmp/${process.pid}`];
  if (unitOnly) {
    // A config beside the stock one, with the direct test files only and a time limit of 5 s + 1× their time.
    const config = JSON.parse(readFileSync(path.join(root, 'stryker.config.json'), 'utf8'));
    config.tap.testFiles = config.tap.testFiles.filter((f) => UNIT_FILES.test(f));
    config.timeoutFactor = 1;
    const file = path.join(root, `reports/stryker.unit-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(config));
    own.unshift(path.relative(root, file));
  }
  const run = spawnSync(stryker, ['run', ...own, ...passOn, ...(files.length ? ['--mutate', files.join(',')] : [])], { cwd: root, stdio: 'inherit' });
  if (unitOnly) rmSync(path.join(root, own[0]));
  if (run.status !== 0) process.exit(run.status ?? 1);
  const after = byTestName(read(scratch));
  rmSync(scratch);
  const now = read(committed);
  const merged = now ? { ...after, files: { ...now.files, ...after.files }, testFiles: { ...now.testFiles, ...after.testFiles } } : after;
  mkdirSync(path.dirname(committed), { recursive: true });
  writeFileSync(committed, `${JSON.stringify(merged, null, 1)}\n`);
}

const report = read(committed);
if (!report) {
  console.error(`no results yet in ${path.relative(root, committed)}`);
  process.exit(1);
}
if (survivors) {
  for (const [file, result] of Object.entries(report.files)) {
    if (files.length && !files.some((f) => file.endsWith(f))) continue;
    const lines = result.source.split('\n');
    for (const m of result.mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage').sort((a, b) => a.location.start.line - b.location.start.line)) {
      const { start, end } = m.location;
      const original = start.line === end.line ? lines[start.line - 1].slice(start.column - 1, end.column - 1) : `${lines[start.line - 1].slice(start.column - 1)}…`;
      console.log(`${file}:${start.line}:${start.column} ${m.status} ${m.mutatorName}: ${original.trim().slice(0, 100)} → ${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100)}`);
    }
  }
  process.exit(0);
}
// Stryker's score: killed or timed out over every mutant that ran or had no test (ignored, compile
// and runtime errors left out).
const statuses = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'Ignored'];
const rows = [];
const total = Object.fromEntries(statuses.map((s) => [s, 0]));
for (const [file, result] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const n = Object.fromEntries(statuses.map((s) => [s, 0]));
  for (const m of result.mutants) if (m.status in n) n[m.status]++;
  for (const s of statuses) total[s] += n[s];
  rows.push([file, n]);
}
const score = (n) => {
  const valid = n.Killed + n.Timeout + n.Survived + n.NoCoverage;
  return valid ? `${((100 * (n.Killed + n.Timeout)) / valid).toFixed(1)}%` : '—';
};
console.log('| file | killed | timed out | survived | no coverage | ignored | score |');
console.log('|---|---|---|---|---|---|---|');
for (const [file, n] of [...rows, ['**all**', total]]) console.log(`| \`${file}\` | ${statuses.map((s) => n[s]).join(' | ')} | ${score(n)} |`);
