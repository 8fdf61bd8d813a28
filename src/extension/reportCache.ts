import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalysisReport } from '../core/report/report.ts';

/**
 * Analysis reports cached per file content (sha256) and settings, in memory and on disk (the
 * extension's global storage), so reopening a model, or a copy of it, is instant. A small index
 * from path + mtime + size to the hash avoids re-hashing unchanged files.
 */
export class ReportCache {
  private readonly hashes = new Map<string, string>();
  private readonly reports = new Map<string, AnalysisReport>();

  constructor(private readonly dir: string | undefined) {}

  async get(file: string, settings: unknown): Promise<{ key: string; report: AnalysisReport | undefined }> {
    const key = `${await this.hash(file)}-${createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16)}`;
    let report = this.reports.get(key);
    if (!report && this.dir) {
      try {
        report = JSON.parse(await fs.promises.readFile(path.join(this.dir, `${key}.json`), 'utf8')) as AnalysisReport;
        this.reports.set(key, report);
      } catch {
        report = undefined; // not cached, or unreadable: analyse again
      }
    }
    return { key, report };
  }

  async set(key: string, report: AnalysisReport): Promise<void> {
    this.reports.set(key, report);
    if (!this.dir) return;
    await fs.promises.mkdir(this.dir, { recursive: true });
    const target = path.join(this.dir, `${key}.json`);
    const tmp = `${target}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(report));
    await fs.promises.rename(tmp, target);
  }

  private async hash(file: string): Promise<string> {
    const st = await fs.promises.stat(file);
    const id = `${path.resolve(file)}|${st.mtimeMs}|${st.size}`;
    const known = this.hashes.get(id);
    if (known && !file.endsWith('.json')) return known; // a .json is small, its shards may have changed
    const h = createHash('sha256');
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
    // model.json / *.index.json name their weight files: the siblings' sizes and times count too.
    if (file.endsWith('.json')) {
      const dir = path.dirname(file);
      for (const name of (await fs.promises.readdir(dir)).sort()) {
        if (!/\.(bin|safetensors)$/.test(name)) continue;
        const s = await fs.promises.stat(path.join(dir, name));
        h.update(`\0${name}|${s.size}|${s.mtimeMs}`);
      }
    }
    const digest = h.digest('hex');
    this.hashes.set(id, digest);
    return digest;
  }
}
