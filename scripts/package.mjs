// Builds a platform-specific VSIX: `npm run package [-- --target linux-x64]` (default: this machine).
// onnxruntime-node ships native binaries for every platform (~290 MB); only the target's are packed.
// tfjs ships many bundle variants; only the CommonJS node builds and the wasm binaries are packed.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';

const arg = process.argv.indexOf('--target');
const target = arg > 0 ? process.argv[arg + 1] : `${platform() === 'win32' ? 'win32' : platform()}-${arch()}`;
const [os, cpu] = target.split('-');
const ORT_PLATFORMS = { linux: ['x64', 'arm64'], darwin: ['x64', 'arm64'], win32: ['x64', 'arm64'] };
if (!ORT_PLATFORMS[os]?.includes(cpu)) {
  console.error(`unsupported target ${target}: one of ${Object.entries(ORT_PLATFORMS).flatMap(([o, cs]) => cs.map((c) => `${o}-${c}`)).join(', ')}`);
  process.exit(2);
}
const drop = Object.entries(ORT_PLATFORMS)
  .flatMap(([o, cs]) => cs.map((c) => [o, c]))
  .filter(([o, c]) => o !== os || c !== cpu)
  .map(([o, c]) => `node_modules/onnxruntime-node/bin/napi-v*/${o}/${c}/**`);
const base = readFileSync('.vscodeignore', 'utf8');
const generated = `${base}\n# generated for ${target}\n${drop.join('\n')}\n`;
writeFileSync('.vscodeignore', generated);
try {
  execFileSync('node', ['scripts/build.mjs'], { stdio: 'inherit' });
  const { name, version } = JSON.parse(readFileSync('package.json', 'utf8'));
  const out = `${name}-${target}-${version}.vsix`;
  execFileSync(process.execPath, ['node_modules/@vscode/vsce/vsce', 'package', '--target', target, '--out', out, '--allow-missing-repository', '--no-rewrite-relative-links'], { stdio: 'inherit' });
  console.log(`${out}: ${(statSync(out).size / 1e6).toFixed(1)} MB`);
} finally {
  writeFileSync('.vscodeignore', base);
}
