export function readTfjs(f: string): never { throw new Error(f); }
