/** Replaced with package.json's version by the esbuild bundles ('dev' when run from sources). */
declare const PRUNESCOPE_VERSION: string | undefined;

export const VERSION: string = typeof PRUNESCOPE_VERSION === 'string' ? PRUNESCOPE_VERSION : 'dev';
