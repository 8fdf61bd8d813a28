// Stryker's TAP runner, with its test files in the order stryker.config.json lists them.
//
// The stock runner globs `tap.testFiles` all at once, and the glob returns the files in whatever
// order the directory walk finds them (test/integration/… came before test/unit/…). A mutant runs
// the files that cover it in that order and stops at the first that fails, so the order decides
// the cost: a millisecond unit test is worth nothing to a mutant if a 20-second onnxruntime file
// runs before it. This runner keeps the configured order: the files of the first pattern first
// (in name order within a pattern), then the next pattern's, and so on.
import { commonTokens, declareFactoryPlugin, PluginKind, tokens } from '@stryker-mutator/api/plugin';
import { INSTRUMENTER_CONSTANTS } from '@stryker-mutator/api/core';
import { TapTestRunner } from '@stryker-mutator/tap-runner';

class OrderedTapTestRunner extends TapTestRunner {
  async init() {
    const options = this.options;
    const ordered = [];
    for (const pattern of options.tap.testFiles) {
      // The stock init globs this.options.tap.testFiles; give it one pattern at a time.
      this.options = { ...options, tap: { ...options.tap, testFiles: [pattern] } };
      await super.init();
      for (const file of [...this.testFiles].sort()) if (!ordered.includes(file)) ordered.push(file);
    }
    this.options = options;
    this.testFiles = ordered;
  }
}

function createOrderedTapTestRunner(injector) {
  return injector.provideValue('globalNamespace', INSTRUMENTER_CONSTANTS.NAMESPACE).injectClass(OrderedTapTestRunner);
}
createOrderedTapTestRunner.inject = tokens(commonTokens.injector);

export const strykerPlugins = [declareFactoryPlugin(PluginKind.TestRunner, 'tap-ordered', createOrderedTapTestRunner)];
