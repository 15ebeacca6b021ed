// The architecture, enforced by `npm run lint` (dependency-cruiser): no import cycles, and the
// layer order of the README's architecture section — a module never imports a higher layer.
// Type-only imports count for the layers but not for cycles (they vanish at run time).
// test/architecture.test.ts runs these rules on test/fixtures/architecture/ to show them firing.
//
// Layers, lowest first; folders of one layer may import each other (cycles excepted).
const LAYERS = [
  ['gen', 'lib'],
  ['model'],
  ['security', 'registry'],
  ['sources', 'lifecycle', 'xds/types'],
  ['xds/cache', 'xds/generate'],
  ['xds/protocol'],
  ['xds/server'],
  ['status', 'api', 'agent'],
  ['app'],
  ['cli'],
];

/** `(^|/)src/(a|b)/` for folders a and b. */
const under = (folders) => `(^|/)src/(${folders.map((f) => f.replace('/', '\\/')).join('|')})/`;

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-order:${layer.join('+')}`,
  comment: `${layer.join(', ')} must not import a higher layer (${LAYERS.slice(i + 1).flat().join(', ')}): see the README's architecture section`,
  severity: 'error',
  from: { path: under(layer) },
  to: { path: under(LAYERS.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle works only while every use stays inside function bodies: break it with a leaf module',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // The fixtures break the rules on purpose: only test/architecture.test.ts cruises them.
    exclude: { path: '(^|/)(node_modules|dist)/|^test/fixtures/architecture/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
