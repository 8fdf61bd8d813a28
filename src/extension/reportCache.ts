import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type AnalysisReport, SCHEMA_VERSION } from '../core/report/report.ts';

/**
 * Analysis reports cached per file content (sha256) and settings, in memory and on disk (the
 * extension's global storage), so reopening a model, or a copy of it, is instant. A small index
 * from path + mtime + size to the hash avoids re-hashing unchanged files.
 */
export class ReportCache {
  private readonly hashes = new Map<string, string>();
  private readonly reports = new Map<string, AnalysisReport>();

  constructor(private readonly dir: string | undefined) {}

  /** `sha256`: the file's own content hash (what the report's model.sha256 will be, so the analysis need not hash again). */
  async get(file: string, settings: unknown): Promise<{ key: string; sha256: string; report: AnalysisReport | undefined }> {
    const { sha256, key: content } = await this.hash(file);
    // A report of another schema version (an older PruneScope) is not served: it may lack fields the views need.
    const key = `${content}-${createHash('sha256').update(JSON.stringify({ settings, schema: SCHEMA_VERSION })).digest('hex').slice(0, 16)}`;
    let report = this.reports.get(key);
    if (!report && this.dir) {
      try {
        report = JSON.parse(await fs.promises.readFile(path.join(this.dir, `${key}.json`), 'utf8')) as AnalysisReport;
        this.reports.set(key, report);
      } catch {
        report = undefined; // not cached, or unreadable: analyse again
      }
    }
    return { key, sha256, report };
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

  /** The file's sha256, and the cache key's content part: for a .json, also its weight files' sizes and times. */
  private async hash(file: string): Promise<{ sha256: string; key: string }> {
    const st = await fs.promises.stat(file);
    const id = `${path.resolve(file)}|${st.mtimeMs}|${st.size}`;
    let sha256 = this.hashes.get(id);
    if (!sha256) {
      const h = createHash('sha256');
      for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
      sha256 = h.digest('hex');
      this.hashes.set(id, sha256);
    }
    if (!file.endsWith('.json')) return { sha256, key: sha256 };
    // model.json / *.index.json name their weight files: the siblings' sizes and times count too.
    const h = createHash('sha256').update(sha256);
    const dir = path.dirname(file);
    for (const name of (await fs.promises.readdir(dir)).sort()) {
      if (!/\.(bin|safetensors)$/.test(name)) continue;
      const s = await fs.promises.stat(path.join(dir, name));
      h.update(`\0${name}|${s.size}|${s.mtimeMs}`);
    }
    return { sha256, key: h.digest('hex') };
  }
}
