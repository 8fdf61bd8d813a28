/**
 * The CLI from its TypeScript sources (bin/prunescope.js runs the built bundle). The test helpers
 * use it under Stryker, so that CLI tests run the mutated sources; see `cliCommand` in helpers.ts.
 */
import { main } from '../src/cli/main.ts';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
