/**
 * The files a command reads, so that none of them is ever written over: compared by real path
 * and by device + inode, so symlinks and hard links to an input count as that input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Identity {
  real: string;
  dev: number;
  ino: number;
}

function identify(p: string): Identity | undefined {
  try {
    const st = fs.statSync(p);
    return { real: fs.realpathSync(p), dev: st.dev, ino: st.ino };
  } catch {
    return undefined; // a path that does not exist is no input
  }
}

export class InputFiles {
  private readonly reals = new Map<string, string>();
  private readonly inodes = new Map<string, string>();

  /** Adds a file, or every file directly inside a folder (calibration folders); `what` names it in messages. */
  add(p: string, what: string): this {
    const id = identify(p);
    if (!id) return this;
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(p);
    } catch {
      return this;
    }
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p)) this.add(path.join(p, name), `${what} (${name})`);
      return this;
    }
    this.reals.set(id.real, what);
    this.inodes.set(`${id.dev}:${id.ino}`, what);
    return this;
  }

  addAll(files: readonly string[], what: string): this {
    for (const f of files) this.add(f, what);
    return this;
  }

  /** What `p` is among the inputs ('the model', '--data', …), or undefined when it is none of them. */
  match(p: string): string | undefined {
    const id = identify(p);
    if (!id) return undefined;
    return this.reals.get(id.real) ?? this.inodes.get(`${id.dev}:${id.ino}`);
  }
}
