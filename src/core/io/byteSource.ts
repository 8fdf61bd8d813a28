import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError, quote } from '../errors.ts';

/** Random-access, synchronous reads from one file. Holds a file descriptor, never the file. */
export class FileByteSource {
  private fd: number | undefined;
  readonly size: number;
  /** Bytes read from the file so far (for tests and diagnostics). */
  bytesRead = 0;

  constructor(readonly file: string) {
    const { fd, size } = openRegularFile(file);
    this.fd = fd;
    this.size = size;
  }

  /** Reads exactly `length` bytes at `offset` into a fresh (aligned, unshared) buffer. */
  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new CheckpointError(
        this.file,
        `truncated: needs bytes ${offset}..${offset + length} but the file has ${this.size}`,
      );
    }
    const out = new Uint8Array(length);
    this.readInto(out, offset);
    return out;
  }

  /** Fills `target` from `offset`; returns the number of bytes read (short only at end of file). */
  readInto(target: Uint8Array, offset: number): number {
    if (this.fd === undefined) throw new CheckpointError(this.file, 'file was already closed');
    let done = 0;
    while (done < target.length) {
      const n = fs.readSync(this.fd, target, done, target.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    this.bytesRead += done;
    return done;
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/**
 * Opens `file` for reading if it is a regular file. FIFOs, sockets and devices are refused
 * without blocking: the open is non-blocking and the check is on the opened descriptor.
 */
export function openRegularFile(file: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new CheckpointError(file, describeFsError(e));
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new CheckpointError(file, st.isDirectory() ? 'is a folder, not a file' : 'is not a regular file (a FIFO, socket or device)');
  }
  return { fd, size: st.size };
}

/** The whole of a regular file (refused: FIFOs, devices, folders, and files over `maxBytes`). */
export function readRegularFile(file: string, maxBytes = 2 ** 31 - 1): Buffer {
  const { fd, size } = openRegularFile(file);
  try {
    if (size > maxBytes) throw new CheckpointError(file, `is ${size} bytes; more than the ${maxBytes} expected for this kind of file`);
    const buf = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, buf, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return done === size ? buf : buf.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** Keeps one FileByteSource per path, so sharded / external-data models reuse descriptors. */
export class ByteSourcePool {
  private readonly sources = new Map<string, FileByteSource>();
  get(file: string): FileByteSource {
    let s = this.sources.get(file);
    if (!s) {
      s = new FileByteSource(file);
      this.sources.set(file, s);
    }
    return s;
  }
  /** Every file the pool has opened, in order. */
  files(): string[] {
    return [...this.sources.keys()];
  }
  /** Total bytes read through every source of the pool. */
  bytesRead(): number {
    let n = 0;
    for (const s of this.sources.values()) n += s.bytesRead;
    return n + this.closedBytes;
  }
  private closedBytes = 0;

  closeAll(): void {
    for (const s of this.sources.values()) this.closedBytes += s.bytesRead;
    for (const s of this.sources.values()) s.close();
    this.sources.clear();
  }
}

/**
 * Resolves `relative` (from a manifest or external-data entry) against `folder` and refuses any
 * path that leaves it: absolute paths, `..` segments that escape, and symlinks that point out.
 */
export function resolveInside(modelFile: string, folder: string, relative: string, what: string): string {
  if (relative.length === 0 || relative.includes('\0')) {
    throw new CheckpointError(modelFile, `${what} has an empty or invalid path`);
  }
  if (path.isAbsolute(relative) || /^[a-zA-Z]:[\\/]/.test(relative) || relative.startsWith('\\')) {
    throw new CheckpointError(modelFile, `${what} path '${quote(relative)}' is absolute; it must stay inside the model's folder`);
  }
  const root = path.resolve(folder);
  const target = path.resolve(root, relative);
  if (!isWithin(root, target)) {
    throw new CheckpointError(modelFile, `${what} path '${quote(relative)}' leaves the model's folder`);
  }
  if (fs.existsSync(target)) {
    const realRoot = fs.realpathSync(root);
    const realTarget = fs.realpathSync(target);
    if (!isWithin(realRoot, realTarget)) {
      throw new CheckpointError(modelFile, `${what} path '${quote(relative)}' is a link that leaves the model's folder`);
    }
  }
  return target;
}

function isWithin(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' ? false : !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * The user-facing reason of a failed file-system call (not found, permission denied…). Anything
 * that is not an operating-system error is rethrown as is: it is a bug, not bad input.
 */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof err.code !== 'string' || typeof err.syscall !== 'string') throw e;
  switch (err.code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return `cannot read file (${err.code})`;
  }
}
