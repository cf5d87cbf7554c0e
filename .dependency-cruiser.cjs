/**
 * The layers of src/, bottom to top: core (the kernel) → lib → db → adapters → modules → app → cli.
 * A file may import its own layer and those below it, never one above; tests may import anything.
 * `npm run lint:deps` checks it in CI; `npm run arch` draws docs/architecture.md's picture from it.
 */
const NOT_TEST = '\\.test\\.ts$|/testing\\.ts$|/test-fixtures\\.ts$';
const layer = (name, above) => ({
  name: `${name}-imports-no-layer-above`,
  comment: `src/${name} is below ${above.join(', ')}: it may not import them`,
  severity: 'error',
  from: { path: `^src/${name}/`, pathNot: NOT_TEST },
  to: { path: `^src/(${above.join('|')})/|^src/main\\.ts$` },
});

module.exports = {
  forbidden: [
    layer('core', ['lib', 'db', 'adapters', 'modules', 'app', 'cli']),
    layer('lib', ['db', 'adapters', 'modules', 'app', 'cli']),
    layer('db', ['adapters', 'modules', 'app', 'cli']),
    layer('adapters', ['modules', 'app', 'cli']),
    layer('modules', ['app', 'cli']),
    layer('app', ['cli']),
    {
      name: 'no-circular',
      comment: 'two files that import each other (directly or round a loop) are one file in two pieces',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { pathNot: '^$' } },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    exclude: { path: '^web/dist' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
